// The two keys the real-engine tier needs and a user may need too: istio.releaseUrl (a mirror, or a server
// on this machine, instead of Istio's GitHub releases) and skipChecks (a cluster with no data plane).
import { parseSettings, CHECK_NAMES } from "../components/config";
import { verificationChecks, verificationInputsOf } from "../components/verify/verification";
import { byName, planFor } from "./helpers/plan";

jest.setTimeout(120_000);
const ENV = { homeDir: "/home/u", projectDir: "/p" };
const istio = (value: object) => ({ "istio-minikube:istio": JSON.stringify(value) });

describe("istio.releaseUrl", () => {
    test("an http or https URL of a .tar.gz is taken as it is", () => {
        for (const url of ["http://127.0.0.1:18080/istio-1.30.3-linux-amd64.tar.gz", "https://mirror.example.com/istio/1.30.3/istio-1.30.3-osx.tar.gz"]) {
            expect(parseSettings(istio({ releaseUrl: url }), "dev", ENV).istio.releaseUrl).toBe(url);
        }
    });

    test("with releaseArchive as well: refused, naming both", () => {
        expect(() => parseSettings(istio({ releaseUrl: "http://127.0.0.1/x.tar.gz", releaseArchive: "/tmp/istio.tar.gz" }), "dev", ENV)).toThrow(
            "istio-minikube:istio: releaseArchive and releaseUrl are both set",
        );
    });

    test("the release command downloads from it; without it, from Istio's releases", async () => {
        const url = "http://127.0.0.1:18080/istio-1.30.3-linux-amd64.tar.gz";
        const mirrored = await planFor("dev", [`istio.releaseUrl=${url}`]);
        expect(byName(mirrored, "istio-release-unpack").inputs.environment).toMatchObject({ ISTIO_RELEASE_URL: url });
        const plain = await planFor("dev");
        expect((byName(plain, "istio-release-unpack").inputs.environment as Record<string, string>).ISTIO_RELEASE_URL).toMatch(
            /^https:\/\/github\.com\/istio\/istio\/releases\/download\/1\.30\.3\/istio-1\.30\.3-/,
        );
    });
});

describe("skipChecks", () => {
    test("CHECK_NAMES is exactly the list of checks a full stack runs, in order", () => {
        const settings = parseSettings({}, "dev", ENV);
        expect(verificationChecks(verificationInputsOf(settings)).map((c) => c.name)).toEqual([...CHECK_NAMES]);
    });

    test("a skipped check gets no command and reports itself as skipped; the others still run", async () => {
        const plan = await planFor("dev", ["skipChecks[0]=curl-with-certificates", "skipChecks[1]=plaintext-from-outside"]);
        const commands = plan.resources.filter((r) => r.name.startsWith("check-")).map((r) => r.name);
        expect(commands).toEqual(["check-control-plane-ready", "check-mtls-mode", "check-sidecars-injected", "check-curl-without-certificates", "check-ingress-productpage"]);
        const settings = parseSettings({ "istio-minikube:skipChecks": JSON.stringify(["curl-with-certificates"]) }, "dev", ENV);
        const specs = verificationChecks(verificationInputsOf(settings));
        expect(specs.find((c) => c.name === "curl-with-certificates")?.skipped).toBe("skipped: listed in the stack's skipChecks");
        expect(specs.filter((c) => c.skipped).map((c) => c.name)).toEqual(["curl-with-certificates"]);
    });
});

// Issue 9, item 7: the preview of a certificate rotation. The new root is unknown until `pulumi up` makes
// it, so whatever takes the root as a value cannot be rendered during preview. The samples no longer take
// it (they carry a fingerprint of the certificate settings, known at preview), so they show as updates;
// the charts still take it (the validating webhooks' caBundle), and the preview says so in a warning.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { byName, ofType, PLAN_HOME, planFor } from "./helpers/plan";
import { certificatesFingerprint } from "../components/chartValues";
import { CERTIFICATES_PREVIEW_WARNING, meshCertificateInputs, warnWhileCertificatesUnknown } from "../components/meshCertificates";

jest.setTimeout(120_000);

const VERSION = "1.30.3";
const release = path.join(PLAN_HOME, ".cache", "istio-minikube", "releases", `istio-${VERSION}`);
const fixture = fs.readFileSync(path.join(__dirname, "fixtures", "sample-app.yaml"), "utf8");

beforeAll(() => {
    // An unpacked release, as a stack that ran `pulumi up` before has it: charts and samples at known paths.
    for (const dir of ["manifests/charts/base", "manifests/charts/istio-control/istio-discovery", "samples/curl", "samples/bookinfo/platform/kube", "bin"]) {
        fs.mkdirSync(path.join(release, dir), { recursive: true });
    }
    fs.writeFileSync(path.join(release, "samples/curl/curl.yaml"), fixture);
    fs.writeFileSync(path.join(release, "samples/bookinfo/platform/kube/bookinfo.yaml"), fixture);
    fs.writeFileSync(path.join(release, ".istio-minikube-complete"), "sha\n");
});
afterAll(() => fs.rmSync(release, { recursive: true, force: true }));

const stackSettings = (rotation: number) => meshCertificateInputs("dev", { validityDays: 365, rotation });

describe("the preview of a rotation", () => {
    test("the sample groups stay rendered, carrying the new generation's fingerprint: updates, not deletes", async () => {
        const plan = await planFor("dev", ["certificates.rotation=1"], { pendingCertificates: true });
        expect(byName(plan, "mesh-certificates").outputs.rootCertPem).toBe("[unknown]");
        const groups = ofType(plan, "kubernetes:yaml/v2:ConfigGroup").filter((g) => !g.name.includes("manual"));
        expect(groups.length).toBeGreaterThan(0);
        for (const group of groups) {
            expect(group.inputs.yaml).not.toBe("[unknown]");
            expect(group.inputs.yaml).toContain(`istio-minikube/certificates: ${certificatesFingerprint(stackSettings(1))}`);
        }
        // The fingerprint is what a rotation changes: the same samples at rotation 0 carry another one.
        expect(certificatesFingerprint(stackSettings(0))).not.toBe(certificatesFingerprint(stackSettings(1)));
    });

    test("istiod's values stay unknown (they hold the caBundle), which the warning explains; their annotation is the settings fingerprint", async () => {
        const plan = await planFor("dev", ["certificates.rotation=1"], { pendingCertificates: true });
        expect(byName(plan, "istiod").inputs.values).toBe("[unknown]");
        const known = await planFor("dev", ["certificates.rotation=1"]);
        const values = byName(known, "istiod").inputs.values as { pilot: { podAnnotations: Record<string, string> } };
        expect(values.pilot.podAnnotations).toEqual({ "istio-minikube/certificates": certificatesFingerprint(stackSettings(1)) });
    });
});

describe("warnWhileCertificatesUnknown", () => {
    beforeAll(async () => {
        await pulumi.runtime.setMocks({ newResource: async (a) => ({ id: "x", state: a.inputs }), call: async () => ({}) }, "p", "s", true);
    });

    // An Output whose value is not known yet, as a resource being replaced gives during preview.
    const unknownOutput = () => new (pulumi.Output as any)(new Set(), Promise.resolve(undefined), Promise.resolve(false), Promise.resolve(false), Promise.resolve(new Set()));

    test("during preview, an unknown root prints the explanation once", async () => {
        const warnings: string[] = [];
        await expect(warnWhileCertificatesUnknown(unknownOutput(), (m) => warnings.push(m))).resolves.toBe(true);
        expect(warnings).toEqual([CERTIFICATES_PREVIEW_WARNING]);
        expect(CERTIFICATES_PREVIEW_WARNING).toMatch(/lists them as deletes.*'pulumi up' renders them with the new root and updates them in place; nothing is deleted/);
    });

    test("a known root prints nothing", async () => {
        const warnings: string[] = [];
        await expect(warnWhileCertificatesUnknown(pulumi.output("-----BEGIN CERTIFICATE-----"), (m) => warnings.push(m))).resolves.toBe(false);
        expect(warnings).toEqual([]);
    });
});

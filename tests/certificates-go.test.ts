// The stack's certificates through Go's crypto/x509 and crypto/tls: what istiod (plug-in CA, serving
// certificate) and kube-apiserver (the webhook caBundle) parse them with. Go is stricter than OpenSSL
// and Node: a character outside PrintableString's alphabet, such as the '_' a Pulumi stack name may
// hold, makes x509.ParseCertificate reject the whole certificate. tests/go/certcheck is the Go side.
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as forge from "node-forge";
import { generateMeshCertificates, meshCertificateInputs, MeshCertificatesOutputs, serialNumberFrom } from "../components/trust/meshCertificates";
import { defaultSettings, parseSettings } from "../components/config";

const CHECKER_SOURCE = path.join(__dirname, "go", "certcheck");
const DNS_NAMES = ["istiod", "istiod.istio-system", "istiod.istio-system.svc"];
let workDir: string;
let checker: string;

beforeAll(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "certcheck-"));
    checker = path.join(workDir, "certcheck");
    // Standard library only: builds offline, with the machine's own Go.
    execFileSync("go", ["build", "-o", checker, "."], {
        cwd: CHECKER_SOURCE,
        env: { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-buildvcs=false", CGO_ENABLED: "0" },
        stdio: ["ignore", "inherit", "inherit"],
    });
}, 120000);

afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

interface GoReport {
    checks: { name: string; ok: boolean; error?: string }[];
    subjects: Record<string, string>;
}

function goCheck(certs: Pick<MeshCertificatesOutputs, "rootCertPem" | "intermediateCertPem" | "intermediateKeyPem" | "certChainPem" | "servingCertPem" | "servingKeyPem">): { code: number | null; report: GoReport } {
    const input = JSON.stringify({
        root: certs.rootCertPem,
        intermediate: certs.intermediateCertPem,
        intermediateKey: certs.intermediateKeyPem,
        certChain: certs.certChainPem,
        serving: certs.servingCertPem,
        servingKey: certs.servingKeyPem,
        dnsNames: DNS_NAMES,
    });
    const result = spawnSync(checker, [], { input, encoding: "utf8" });
    if (result.status === 2 || result.error) throw new Error(`certcheck failed to run: ${result.stderr}`);
    return { code: result.status, report: JSON.parse(result.stdout) as GoReport };
}

function failures(report: GoReport): string[] {
    return report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.error}`);
}

/** The certificates index.ts makes for a stack. */
const stackCertificates = (stack: string) => meshCertificateInputs(stack, { validityDays: 30, rotation: 0 });
/** The organization every subject of a stack's certificates must carry. */
const organizationOf = (stack: string) => `istio-minikube ${stack}`;

describe("Go parses and verifies the certificates of any stack name Pulumi accepts", () => {
    test.each(["dev", "my_stack", "team.prod_2", "A-b_C.d", "x".repeat(100)])("stack %j", (stack) => {
        const certs = generateMeshCertificates(stackCertificates(stack));
        const { code, report } = goCheck(certs);
        expect(failures(report)).toEqual([]);
        expect(code).toBe(0);
        // Every check ran: four parses, two key pairs, the intermediate's chain and CA flag, and one
        // verification per name the API server may dial.
        expect(report.checks).toHaveLength(4 + 2 + 2 + DNS_NAMES.length);
        expect(report.subjects.root).toBe(`CN=istio-minikube root CA,O=${organizationOf(stack)}`);
        expect(report.subjects.serving).toBe(`CN=istiod,O=${organizationOf(stack)}`);
    });

    test("the subject text is a UTF8String in every certificate (tag 12), never a PrintableString (tag 19)", () => {
        const certs = generateMeshCertificates(stackCertificates("my_stack"));
        for (const pem of [certs.rootCertPem, certs.intermediateCertPem, certs.servingCertPem]) {
            const cert = forge.pki.certificateFromPem(pem);
            for (const attr of [...cert.subject.attributes, ...cert.issuer.attributes]) {
                expect(attr.valueTagClass).toBe(forge.asn1.Type.UTF8);
            }
        }
    });

    /** A self-signed root written by node-forge with the given serial hex and subject encoding. */
    function forgeRoot(opts: { serialHex: string; utf8Subject: boolean }): string {
        const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
        const key = forge.pki.privateKeyFromPem(privateKey.export({ type: "pkcs1", format: "pem" }).toString());
        const cert = forge.pki.createCertificate();
        cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: "spki", format: "pem" }).toString());
        cert.serialNumber = opts.serialHex;
        cert.validity.notBefore = new Date(Date.now() - 3600_000);
        cert.validity.notAfter = new Date(Date.now() + 86400_000);
        const tag = opts.utf8Subject ? { valueTagClass: forge.asn1.Type.UTF8 as number as forge.asn1.Class } : {};
        const subject = [{ name: "organizationName", value: organizationOf("my_stack"), ...tag }, { name: "commonName", value: "root", ...tag }];
        cert.setSubject(subject);
        cert.setIssuer(subject);
        cert.setExtensions([{ name: "basicConstraints", cA: true, critical: true }]);
        cert.sign(key, forge.md.sha256.create());
        return forge.pki.certificateToPem(cert);
    }

    function goCheckRoot(rootCertPem: string) {
        const good = generateMeshCertificates(stackCertificates("dev"));
        return goCheck({ ...good, rootCertPem });
    }

    test("the checker is strict: a PrintableString with '_' (what node-forge writes by default) is rejected", () => {
        const { code, report } = goCheckRoot(forgeRoot({ serialHex: "01", utf8Subject: false }));
        expect(code).toBe(1);
        expect(failures(report).join("\n")).toMatch(/parse root: .*PrintableString/);
    });

    // A CI run failed on "x509: malformed serial number" from the API server reading the caBundle: the old
    // serial ("0" + 31 random hex digits) began 00 00 0x-7x about once in 8192 certificates, and node-forge
    // drops only one redundant zero byte (lib/asn1.js toDer), leaving an encoding Go refuses.
    test.each([
        ["00 then a byte below 0x80", "0005"],
        ["all zero", "0000"],
        ["a top bit set", "80ff"],
        ["all ones", "ffff"],
    ])("a serial from random bytes starting with %s parses in Go", (_label, head) => {
        const random = Buffer.alloc(16, 0x5a);
        Buffer.from(head, "hex").copy(random);
        const { report } = goCheckRoot(forgeRoot({ serialHex: serialNumberFrom(random), utf8Subject: true }));
        // This root is not the one the rest of the set chains to; only its parse is in question here.
        expect(report.checks.find((c) => c.name === "parse root")).toEqual({ name: "parse root", ok: true });
    });

    test("the checker is strict: a serial with a redundant leading zero byte is rejected as Go's parser does", () => {
        const { code, report } = goCheckRoot(forgeRoot({ serialHex: "000005" + "5a".repeat(13), utf8Subject: true }));
        expect(code).toBe(1);
        expect(failures(report).join("\n")).toMatch(/parse root: .*malformed serial number/);
    });

    test("a key that does not belong to its certificate is caught (the key-pair check is real)", () => {
        const a = generateMeshCertificates(stackCertificates("dev"));
        const b = generateMeshCertificates(stackCertificates("dev"));
        const { code, report } = goCheck({ ...a, servingKeyPem: b.servingKeyPem });
        expect(code).toBe(1);
        expect(failures(report).join("\n")).toMatch(/key pair serving: .*private key does not match public key/);
    });
});

describe("stack names minikube would refuse as a profile", () => {
    const ENV = { homeDir: "/home/u", projectDir: "/p" };
    const profileOf = (stack: string) => {
        const settings = parseSettings({}, stack, ENV);
        if (settings.cluster.kind !== "minikube") throw new Error("expected minikube");
        return settings.cluster.minikube.profile;
    };

    test.each(["dev", "prod.eu", "A1"])("a valid stack name keeps istio-<stack> (%j), so existing stacks keep their cluster", (stack) => {
        expect(profileOf(stack)).toBe(`istio-${stack}`);
    });

    test.each(["my_stack", "_", "a__b", "x.", "a..b", "x".repeat(100), "-lead"])("stack %j gets a profile minikube accepts", (stack) => {
        const profile = profileOf(stack);
        // minikube's ProfileNameValid pattern (pkg/minikube/config/profile.go), and our 63-character cap.
        expect(profile).toMatch(/^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$/);
        expect(profile.length).toBeLessThanOrEqual(63);
        expect(profile.startsWith("istio-")).toBe(true);
        expect(defaultSettings(stack).minikube.profile).toBe(profile);
    });

    test("stacks that fold to the same text still get profiles of their own", () => {
        const profiles = ["a_b", "a-b", "a__b", "a_b_"].map(profileOf);
        expect(new Set(profiles).size).toBe(profiles.length);
        expect(profileOf("my_stack")).toMatch(/^istio-my-stack-[0-9a-f]{8}$/);
    });

    test.each(["start", "STOP", "Logs", "cache"])("minikube's reserved word %j is refused as a profile, naming the key", (profile) => {
        expect(() => parseSettings({ "istio-minikube:minikube": JSON.stringify({ profile }) }, "dev", ENV)).toThrow(
            /istio-minikube:minikube\.profile = "[A-Za-z]+" is not allowed: expected a minikube profile name other than minikube's own words/,
        );
    });
});

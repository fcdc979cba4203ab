// Real crypto: the certificates the stack generates, checked by a real TLS handshake and by openssl.
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { AddressInfo } from "net";
import * as forge from "node-forge";
import {
    generateMeshCertificates,
    rotateMeshCertificates,
    retirePreviousRoot,
    MeshCertificatesInputs,
    serialNumberFrom,
    MeshCertificatesOutputs,
    meshCertificatesProvider,
    signingOf,
} from "../components/trust/meshCertificates";
import { sidecarInjectorWebhooks } from "../components/mesh/sidecarInjector";
import { pluginCaSecretData, servingSecretData } from "../components/istio/istioControlPlane";

const INPUTS: MeshCertificatesInputs = {
    organization: "istio-minikube test",
    servingDnsNames: ["istiod", "istiod.istio-system", "istiod.istio-system.svc"],
    validityDays: 30,
    rotation: 0,
    keepPreviousRoot: true,
};

let certs: MeshCertificatesOutputs;
let other: MeshCertificatesOutputs;
let dir: string;

beforeAll(() => {
    certs = generateMeshCertificates(INPUTS);
    other = generateMeshCertificates({ ...INPUTS, organization: "someone else" });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "certs-"));
});

function write(name: string, text: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
}

/** The caBundle the API server gets, decoded the way it decodes it. */
function webhookCaBundle(rootPem: string): string {
    const [hook] = sidecarInjectorWebhooks(Buffer.from(rootPem).toString("base64"));
    return Buffer.from((hook.clientConfig as { caBundle: string }).caBundle, "base64").toString("utf8");
}

/** Serves TLS with the given certificate and connects as `servername`, trusting only `ca`. */
async function handshake(server: { cert: string; key: string }, ca: string, servername: string): Promise<{ ok: boolean; error?: string }> {
    const srv = tls.createServer({ cert: server.cert, key: server.key }, (socket) => socket.end("ok"));
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    const { port } = srv.address() as AddressInfo;
    try {
        return await new Promise((resolve) => {
            const socket = tls.connect({ host: "127.0.0.1", port, servername, ca, rejectUnauthorized: true }, () => {
                socket.end();
                resolve({ ok: true });
            });
            socket.on("error", (err) => resolve({ ok: false, error: err.message }));
        });
    } finally {
        srv.close();
    }
}

describe("the serving certificate, as the API server calling /inject sees it", () => {
    test("a client trusting only the webhook's caBundle connects to istiod.istio-system.svc", async () => {
        const result = await handshake({ cert: certs.servingCertPem, key: certs.servingKeyPem }, webhookCaBundle(certs.rootCertPem), "istiod.istio-system.svc");
        expect(result).toEqual({ ok: true });
    });

    test("the same client refuses the certificate for another name", async () => {
        const result = await handshake({ cert: certs.servingCertPem, key: certs.servingKeyPem }, webhookCaBundle(certs.rootCertPem), "evil.istio-system.svc");
        expect(result.ok).toBe(false);
        expect(result.error).toMatch(/altnames|Hostname/i);
    });

    test("a serving certificate from another root is refused", async () => {
        const result = await handshake({ cert: other.servingCertPem, key: other.servingKeyPem }, webhookCaBundle(certs.rootCertPem), "istiod.istio-system.svc");
        expect(result.ok).toBe(false);
        expect(result.error).toMatch(/self[- ]signed|unable to (get|verify)/i);
    });

    test("it is for serving only: serverAuth, not a CA, the three istiod names", () => {
        const cert = new crypto.X509Certificate(certs.servingCertPem);
        expect(cert.ca).toBe(false);
        expect(cert.subjectAltName).toBe("DNS:istiod, DNS:istiod.istio-system, DNS:istiod.istio-system.svc");
        expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
        expect(cert.checkIssued(new crypto.X509Certificate(certs.rootCertPem))).toBe(true);
        const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
        expect(days).toBeGreaterThan(29);
        expect(days).toBeLessThanOrEqual(30);
    });
});

describe("openssl", () => {
    const opensslVerify = (args: string[]) => spawnSync("openssl", ["verify", ...args], { encoding: "utf8" });

    test("accepts the serving chain and the intermediate under the root", () => {
        const root = write("root.pem", certs.rootCertPem);
        expect(opensslVerify(["-CAfile", root, write("serving.pem", certs.servingCertPem)]).status).toBe(0);
        expect(opensslVerify(["-CAfile", root, write("intermediate.pem", certs.intermediateCertPem)]).status).toBe(0);
        const ca = execFileSync("openssl", ["x509", "-in", path.join(dir, "intermediate.pem"), "-noout", "-ext", "basicConstraints"], { encoding: "utf8" });
        expect(ca).toMatch(/CA:TRUE, pathlen:0/);
    });

    function workloadCertificate(issuerCertPem: string, issuerKeyPem: string): string {
        // What istiod does with the plug-in CA: sign a SPIFFE workload certificate with ca-key.pem.
        const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
        const key = forge.pki.privateKeyFromPem(privateKey.export({ type: "pkcs1", format: "pem" }).toString());
        const issuer = forge.pki.certificateFromPem(issuerCertPem);
        const cert = forge.pki.createCertificate();
        cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
        cert.serialNumber = "01";
        cert.validity.notBefore = new Date(Date.now() - 60_000);
        cert.validity.notAfter = new Date(Date.now() + 86_400_000);
        cert.setSubject([]);
        cert.setIssuer(issuer.subject.attributes);
        cert.setExtensions([
            { name: "basicConstraints", cA: false },
            { name: "subjectAltName", altNames: [{ type: 6, value: "spiffe://cluster.local/ns/default/sa/bookinfo-productpage" }], critical: true },
        ]);
        cert.sign(forge.pki.privateKeyFromPem(issuerKeyPem), forge.md.sha256.create());
        return forge.pki.certificateToPem(cert);
    }

    test("accepts a workload certificate signed by the intermediate, with cert-chain.pem as the chain", () => {
        const data = pluginCaSecretData(certs);
        const workload = write("workload.pem", workloadCertificate(data["ca-cert.pem"], data["ca-key.pem"]));
        const result = opensslVerify(["-CAfile", write("root-cert.pem", data["root-cert.pem"]), "-untrusted", write("cert-chain.pem", data["cert-chain.pem"]), workload]);
        expect(result.stdout + result.stderr).toContain("OK");
        expect(result.status).toBe(0);
    });

    test("rejects a forged workload certificate: same issuer name, another key", () => {
        const data = pluginCaSecretData(certs);
        const forged = write("forged.pem", workloadCertificate(data["ca-cert.pem"], other.intermediateKeyPem));
        const result = opensslVerify(["-CAfile", write("root-cert2.pem", data["root-cert.pem"]), "-untrusted", write("cert-chain2.pem", data["cert-chain.pem"]), forged]);
        expect(result.status).not.toBe(0);
        expect(result.stdout + result.stderr).toMatch(/signature failure|unable to get local issuer/i);
    });

    test("the plug-in CA secret holds what Istio expects: cert-chain.pem is the intermediate then the root", () => {
        const data = pluginCaSecretData(certs);
        expect(Object.keys(data).sort()).toEqual(["ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"]);
        expect(data["cert-chain.pem"]).toBe(certs.intermediateCertPem + certs.rootCertPem);
        const key = crypto.createPrivateKey(data["ca-key.pem"]);
        expect(new crypto.X509Certificate(data["ca-cert.pem"]).checkPrivateKey(key)).toBe(true);
        const tlsData = servingSecretData(certs);
        expect(tlsData["ca.crt"]).toBe(certs.rootCertPem);
        expect(new crypto.X509Certificate(tlsData["tls.crt"]).checkPrivateKey(crypto.createPrivateKey(tlsData["tls.key"]))).toBe(true);
    });
});

describe("certificate serial numbers (RFC 5280 4.1.2.2: positive, at most 20 octets; Go: minimally encoded)", () => {
    /** DER INTEGER content is minimal and positive: no redundant leading 0x00, no top bit set. */
    const minimalPositive = (hex: string) => {
        const bytes = Buffer.from(hex, "hex");
        return bytes.length <= 20 && (bytes[0] & 0x80) === 0 && !(bytes[0] === 0x00 && bytes.length > 1 && (bytes[1] & 0x80) === 0);
    };

    test("every first byte the random source can give yields a minimal, positive 16-byte serial that keeps the other bytes", () => {
        for (let first = 0; first < 256; first++) {
            for (const second of [0x00, 0x7f, 0x80, 0xff]) {
                const random = Buffer.alloc(16, 0x33);
                random[0] = first;
                random[1] = second;
                const serial = serialNumberFrom(random);
                expect({ first, second, ok: minimalPositive(serial) }).toEqual({ first, second, ok: true });
                expect(serial).toHaveLength(32);
                expect(serial.slice(2)).toBe(random.toString("hex").slice(2));
            }
        }
    });

    test("the issued certificates carry distinct serials that survive node-forge's DER round trip", () => {
        const certs = generateMeshCertificates(INPUTS);
        const serials = [certs.rootCertPem, certs.intermediateCertPem, certs.servingCertPem].map((pem) => forge.pki.certificateFromPem(pem).serialNumber);
        expect(new Set(serials).size).toBe(3);
        for (const serial of serials) expect(minimalPositive(serial)).toBe(true);
    });
});

describe("the dynamic provider", () => {
    test("create gives the whole chain, with an id derived from the root", async () => {
        const result = await meshCertificatesProvider.create(INPUTS);
        const outs = result.outs as MeshCertificatesOutputs;
        expect(result.id).toMatch(/^[0-9a-f]{16}$/);
        const root = new crypto.X509Certificate(outs.rootCertPem);
        expect(root.ca).toBe(true);
        expect(new crypto.X509Certificate(outs.intermediateCertPem).checkIssued(root)).toBe(true);
        expect(new crypto.X509Certificate(outs.servingCertPem).checkIssued(root)).toBe(true);
        expect(outs).toMatchObject(INPUTS);
    });

    test("diff with the same inputs reports no change, so the certificates stay as they are", async () => {
        const diff = await meshCertificatesProvider.diff!("id", certs, { ...INPUTS });
        expect(diff).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    });

    test("other names replace the certificates; a new rotation value is an update in place (the next state is made from this one); a new validity waits for it", async () => {
        expect(await meshCertificatesProvider.diff!("id", certs, { ...INPUTS, rotation: 1 })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
        expect(await meshCertificatesProvider.diff!("id", certs, { ...INPUTS, validityDays: 31 })).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
        expect((await meshCertificatesProvider.diff!("id", certs, { ...INPUTS, servingDnsNames: ["istiod.other.svc"] })).replaces).toEqual(["servingDnsNames"]);
        expect((await meshCertificatesProvider.diff!("id", certs, { ...INPUTS, organization: "x", rotation: 1 })).replaces).toEqual(["organization"]);
    });

    test("two creates give two different roots (keys are never reused)", () => {
        expect(certs.rootCertPem).not.toBe(other.rootCertPem);
        expect(certs.servingKeyPem).not.toBe(other.servingKeyPem);
    });
});

describe("the overlap, through the provider's diff and update", () => {
    const provider = meshCertificatesProvider as Required<typeof meshCertificatesProvider>;
    const step = async (olds: MeshCertificatesOutputs, news: MeshCertificatesInputs) => {
        const diff = await provider.diff("id", olds, news);
        expect(diff.replaces).toEqual([]);
        return { changed: diff.changes, outs: diff.changes ? ((await provider.update("id", olds, news)).outs as MeshCertificatesOutputs) : olds };
    };
    const rootsOf = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!.map((c) => new crypto.X509Certificate(c).fingerprint256);
    const issuerOf = (pem: string, candidates: MeshCertificatesOutputs[]) => candidates.findIndex((c) => new crypto.X509Certificate(pem).verify(new crypto.X509Certificate(c.rootCertPem).publicKey));
    let first: MeshCertificatesOutputs;
    let overlap: MeshCertificatesOutputs;
    beforeAll(async () => {
        first = generateMeshCertificates(INPUTS);
        overlap = (await step(first, { ...INPUTS, rotation: 1 })).outs;
    });

    test("during the overlap istiod presents the previous root's serving certificate, and notAfter is when it expires, not the new root", () => {
        expect(overlap.servingCertPem).toBe(first.servingCertPem);
        expect(issuerOf(overlap.nextServingCertPem, [first, overlap])).toBe(1);
        expect(overlap.notAfter).toBe(new Date(new crypto.X509Certificate(first.servingCertPem).validTo).toISOString());
        expect(new Date(overlap.notAfter).getTime()).toBeLessThanOrEqual(new Date(new crypto.X509Certificate(overlap.rootCertPem).validTo).getTime());
    });

    test("a new validityDays during the overlap or after the retire step makes no certificate: no root leaves and nothing cuts over", async () => {
        expect((await step(overlap, { ...INPUTS, rotation: 1, validityDays: 90 })).changed).toBe(false);
        const retired = (await step(overlap, { ...INPUTS, rotation: 1, keepPreviousRoot: false })).outs;
        expect(rootsOf(retired.trustBundlePem)).toEqual(rootsOf(overlap.rootCertPem));
        expect((await step(retired, { ...INPUTS, rotation: 1, keepPreviousRoot: false, validityDays: 90 })).changed).toBe(false);
        // Unsetting retired again has no root to bring back.
        expect((await step(retired, { ...INPUTS, rotation: 1, keepPreviousRoot: true })).changed).toBe(false);
    });

    test("rotating twice without retiring keeps the root just replaced, drops the one before it, and presents that root's serving certificate", async () => {
        const second = (await step(overlap, { ...INPUTS, rotation: 2 })).outs;
        expect(rootsOf(second.trustBundlePem)).toEqual([...rootsOf(second.rootCertPem), ...rootsOf(overlap.rootCertPem)]);
        expect(second.servingCertPem).toBe(overlap.nextServingCertPem);
        expect(second.trustBundlePem).not.toContain(first.rootCertPem);
        // The set kept beside the new one is the one just replaced, intermediate and key included.
        expect(second.previousIntermediateKeyPem).toBe(overlap.intermediateKeyPem);
        expect(JSON.stringify(second)).not.toContain(first.intermediateKeyPem.slice(40, 120));
    });

    test("a hard cut (rotation and retired raised together) leaves the new root alone, signing and serving", async () => {
        const cut = (await step(first, { ...INPUTS, rotation: 1, keepPreviousRoot: false })).outs;
        expect(cut.trustBundlePem).toBe(cut.rootCertPem);
        expect(issuerOf(cut.servingCertPem, [first, cut])).toBe(1);
        expect(cut.previousRootCertPem + cut.nextServingCertPem + cut.nextServingKeyPem).toBe("");
    });

    test.each([
        ["no bundle (before overlaps)", ["trustBundlePem", "previousRootCertPem", "nextServingCertPem", "nextServingKeyPem", "keepPreviousRoot", "previousIntermediateCertPem", "previousIntermediateKeyPem", "previousCertChainPem"]],
        ["no previous intermediate (before the sign step)", ["previousIntermediateCertPem", "previousIntermediateKeyPem", "previousCertChainPem"]],
    ])("a state an earlier version wrote (%s) is completed once, keeping its certificates; then nothing changes", async (_when, absent) => {
        const old = Object.fromEntries(Object.entries(first).filter(([key]) => !absent.includes(key))) as unknown as MeshCertificatesOutputs;
        const completed = await step(old, INPUTS);
        expect(completed.changed).toBe(true);
        expect(completed.outs).toMatchObject({ rootCertPem: first.rootCertPem, servingCertPem: first.servingCertPem, intermediateKeyPem: first.intermediateKeyPem, trustBundlePem: first.rootCertPem, previousIntermediateCertPem: "" });
        expect((await step(completed.outs, INPUTS)).changed).toBe(false);
    });

    test("keys: the overlap keeps the previous intermediate and its key (it signs until the sign step); the retire step drops them and the old serving key", () => {
        expect(overlap.intermediateKeyPem).not.toBe(first.intermediateKeyPem);
        expect(overlap).toMatchObject({ previousIntermediateCertPem: first.intermediateCertPem, previousIntermediateKeyPem: first.intermediateKeyPem, previousCertChainPem: first.certChainPem });
        const retired = retirePreviousRoot(overlap, { ...INPUTS, rotation: 1, keepPreviousRoot: false });
        expect(JSON.stringify(retired)).not.toContain(first.servingKeyPem.slice(40, 120));
        expect(JSON.stringify(retired)).not.toContain(first.intermediateKeyPem.slice(40, 120));
        expect(retired).toMatchObject({ previousRootCertPem: "", previousIntermediateCertPem: "", previousIntermediateKeyPem: "", previousCertChainPem: "" });
        expect(retired.servingKeyPem).toBe(overlap.nextServingKeyPem);
        expect(rotateMeshCertificates(first, { ...INPUTS, rotation: 1 }).intermediateKeyPem).not.toBe(first.intermediateKeyPem);
    });
});

describe("which set signs (certificates.signing)", () => {
    let first: MeshCertificatesOutputs;
    let overlap: MeshCertificatesOutputs;
    beforeAll(() => {
        first = generateMeshCertificates(INPUTS);
        overlap = rotateMeshCertificates(first, { ...INPUTS, rotation: 1 });
    });

    test("the trust step: the previous root's intermediate, key and chain, which istiod accepts against the two-root bundle", () => {
        const signing = signingOf(overlap, true, 1);
        expect(signing).toEqual({ rootCertPem: first.rootCertPem, intermediateCertPem: first.intermediateCertPem, intermediateKeyPem: first.intermediateKeyPem, certChainPem: first.certChainPem });
        // openssl, as Istio's plug-in CA checks it: ca-cert.pem against every root of root-cert.pem.
        const data = pluginCaSecretData({ ...signing, trustBundlePem: overlap.trustBundlePem });
        const verified = execFileSync("openssl", ["verify", "-CAfile", write("trust-step-bundle.pem", data["root-cert.pem"]), write("trust-step-ca.pem", data["ca-cert.pem"])], { encoding: "utf8" });
        expect(verified).toMatch(/: OK/);
    });

    test("the sign step, and signing unset: the newest root's intermediate", () => {
        expect(signingOf(overlap, false, 1)).toMatchObject({ rootCertPem: overlap.rootCertPem, intermediateKeyPem: overlap.intermediateKeyPem, certChainPem: overlap.certChainPem });
    });

    test("with no previous root (a stack's first up with signing = rotation - 1, or after the retire step) the one root signs", () => {
        expect(signingOf(first, true, 0).intermediateKeyPem).toBe(first.intermediateKeyPem);
        expect(signingOf(retirePreviousRoot(overlap, { ...INPUTS, rotation: 1, keepPreviousRoot: false }), true, 1).rootCertPem).toBe(overlap.rootCertPem);
    });

    test("an overlap an earlier version wrote (no previous intermediate) is completed keeping both roots; the new root signs, and the previous one cannot: an error naming the key, the value and what is allowed", async () => {
        const { previousIntermediateCertPem: _c, previousIntermediateKeyPem: _k, previousCertChainPem: _p, ...written } = overlap;
        const provider = meshCertificatesProvider as Required<typeof meshCertificatesProvider>;
        const news = { ...INPUTS, rotation: 1 };
        expect((await provider.diff("id", written as MeshCertificatesOutputs, news)).changes).toBe(true);
        const completed = (await provider.update("id", written as MeshCertificatesOutputs, news)).outs as MeshCertificatesOutputs;
        expect(completed).toMatchObject({ previousRootCertPem: first.rootCertPem, trustBundlePem: overlap.trustBundlePem, previousIntermediateCertPem: "", previousIntermediateKeyPem: "" });
        expect(signingOf(completed, false, 1).intermediateKeyPem).toBe(overlap.intermediateKeyPem);
        expect(() => signingOf(completed, true, 1)).toThrow(
            "istio-minikube:certificates.signing = 0 is not allowed: this stack's state holds no intermediate of root 0 (it was rotated before the sign step existed). Expected 1 or unset (docs/trust.md)",
        );
    });
});

describe("what the last up rules out (the provider's check, on the state's inputs)", () => {
    const check = (olds: Partial<MeshCertificatesInputs> | undefined, news: Partial<MeshCertificatesInputs>) =>
        meshCertificatesProvider.check!(olds as MeshCertificatesInputs, { ...INPUTS, ...news }).then((r) => (r.failures ?? []).map((f) => f.reason));
    const TRUST = { rotation: 1, previousRootSigns: true, keepPreviousRoot: true };
    const SIGNED = { rotation: 1, previousRootSigns: false, keepPreviousRoot: true };

    test.each([
        ["a first up, in any step", undefined, { rotation: 3, previousRootSigns: true }],
        ["trust from before", { rotation: 0, previousRootSigns: false }, TRUST],
        ["sign after trust", TRUST, SIGNED],
        ["retire after sign", SIGNED, { rotation: 1, keepPreviousRoot: false }],
        ["undo the sign step before retire", SIGNED, TRUST],
        ["the next trust step after sign", SIGNED, { rotation: 2, previousRootSigns: true }],
        ["a deliberate hard cut from the trust step", TRUST, { rotation: 2, keepPreviousRoot: false }],
        ["trust from a state an earlier version wrote at rotation 0", { rotation: 0 }, TRUST],
    ])("%s is allowed", async (_name, olds, news) => {
        expect(await check(olds, news)).toEqual([]);
    });

    test.each([
        [
            "a new rotation while the previous root still signs",
            TRUST,
            { rotation: 2, previousRootSigns: true },
            "istio-minikube:certificates.rotation = 2 is not allowed while root 0 still signs (the last up was the trust step of rotation 1, certificates.signing 0): a new rotation keeps only the newest root beside its own, so every workload certificate would lose its root. Expected 1 until the sign step (certificates.signing: 1) has run; or set certificates.retired to 2 too, for a deliberate hard cut",
        ],
        [
            "lowering the rotation from the trust step (it is a new rotation too)",
            TRUST,
            { rotation: 0 },
            "istio-minikube:certificates.rotation = 0 is not allowed while root 0 still signs",
        ],
        [
            "retiring in the up that switches the signer",
            TRUST,
            { rotation: 1, previousRootSigns: false, keepPreviousRoot: false },
            "istio-minikube:certificates.retired = 1 is not allowed in the up that switches the signer: root 0 signed every workload certificate until now (the last up was the trust step, certificates.signing 0). Expected 0 or unset: run the sign step alone (certificates.signing: 1), wait until every workload has a new certificate, then retire (docs/trust.md)",
        ],
        [
            "the previous root signing after it was retired",
            { rotation: 1, previousRootSigns: false, keepPreviousRoot: false },
            { rotation: 1, previousRootSigns: true, keepPreviousRoot: true },
            "istio-minikube:certificates.signing = 0 is not allowed: root 0 was retired (certificates.retired 1 at an earlier up). Expected 1 or unset",
        ],
        [
            "the previous root signing in a stack an earlier version rotated",
            { rotation: 1, keepPreviousRoot: true },
            TRUST,
            "istio-minikube:certificates.signing = 0 is not allowed: this stack was rotated to 1 by an earlier version, whose state keeps no intermediate of root 0. Expected 1 or unset; the next rotation can use the trust step (docs/trust.md)",
        ],
    ])("%s is refused before anything runs, naming the key, the value and what is allowed", async (_name, olds, news, reason) => {
        const reasons = await check(olds, news);
        expect(reasons).toHaveLength(1);
        expect(reasons[0].startsWith(reason)).toBe(true);
    });

    test.each([
        ["the retire step", [TRUST, SIGNED, { ...SIGNED, keepPreviousRoot: false }]],
        ["a hard cut", [{ rotation: 1, previousRootSigns: false, keepPreviousRoot: false }]],
    ])(
        "after %s, an up with retired unset again changes nothing and keeps the retire in the state, so signing back at rotation - 1 is still refused, naming the key, the value and what is allowed; the next rotation keeps the root it replaces",
        async (_step, steps) => {
            const provider = meshCertificatesProvider as Required<typeof meshCertificatesProvider>;
            // Each up as the engine runs it: check against the state's inputs (what check returned at the last
            // up: pulumi pkg/resource/deploy/step_generator.go), then diff and update; a refusal changes nothing.
            let state: MeshCertificatesInputs | undefined;
            let outs: MeshCertificatesOutputs | undefined;
            const up = async (news: Partial<MeshCertificatesInputs>) => {
                const checked = await provider.check((state ?? {}) as MeshCertificatesInputs, { ...INPUTS, ...news });
                const reasons = (checked.failures ?? []).map((f) => f.reason);
                if (reasons.length > 0) return { reasons, changed: false };
                const inputs = checked.inputs as MeshCertificatesInputs;
                const changed = outs === undefined || (await provider.diff("id", outs, inputs)).changes === true;
                if (changed) outs = (outs === undefined ? (await provider.create(inputs)).outs : (await provider.update("id", outs, inputs)).outs) as MeshCertificatesOutputs;
                state = inputs;
                return { reasons, changed };
            };
            expect(await up({ rotation: 0, previousRootSigns: false })).toEqual({ reasons: [], changed: true });
            for (const step of steps) expect((await up(step)).reasons).toEqual([]);
            const root1 = outs!.rootCertPem;
            expect(outs!.previousRootCertPem).toBe("");
            expect(await up(SIGNED)).toEqual({ reasons: [], changed: false });
            expect(await up(TRUST)).toEqual({
                reasons: ["istio-minikube:certificates.signing = 0 is not allowed: root 0 was retired (certificates.retired 1 at an earlier up). Expected 1 or unset"],
                changed: false,
            });
            // root 1 still signs: the one root there is, as the config says.
            expect(signingOf(outs!, state!.previousRootSigns ?? false, 1).rootCertPem).toBe(root1);
            expect(await up({ rotation: 2, previousRootSigns: true, keepPreviousRoot: true })).toEqual({ reasons: [], changed: true });
            expect(outs!.previousRootCertPem).toBe(root1);
            expect(signingOf(outs!, true, 2).rootCertPem).toBe(root1);
        },
    );

    test("the sign step is no change to the certificates: the new input is kept in the state, not acted on", async () => {
        const trust = generateMeshCertificates({ ...INPUTS, ...TRUST });
        expect(await meshCertificatesProvider.diff!("id", trust, { ...INPUTS, ...SIGNED })).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    });
});

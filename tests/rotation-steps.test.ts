// Issue 23, item 5: what every consumer of trust holds at each step of a root rotation, from the whole
// program's plan after each `up` (the certificates' real provider runs its diff and update on the state the
// step before left: scripts/offline-plan.ts). Both roots in every bundle before the new one signs and
// during the overlap, none of the old one after the retire step, the serving certificate switching only
// then, and nothing deleted.
import * as crypto from "crypto";
import { byName, planFor, unpackedRelease } from "./helpers/plan";
import { inputsInTheClear, Plan, stateInTheClear } from "../scripts/offline-plan";
import { meshCertificatesProvider, MeshCertificatesInputs, MeshCertificatesOutputs, OBJECTS_WITH_CERTIFICATES } from "../components/trust/meshCertificates";

jest.setTimeout(180_000);

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
const certificatesIn = (pem: string) => (pem.match(PEM_CERTIFICATE) ?? []).map((block) => new crypto.X509Certificate(block));
const fingerprint = (pem: string) => new crypto.X509Certificate(pem).fingerprint256;

interface Holdings {
    /** Fingerprints of the roots each bundle holds, in order. */
    bundles: Record<string, string[]>;
    /** Fingerprint of the root that issued istiod's signing intermediate, and its serving certificate. */
    signerRoot: string;
    servingRoot: string;
    /** Whether the private keys in the Secrets match their certificates. */
    keysMatch: boolean;
}

/** What the five objects that take the certificates hold in a plan made after `up`. */
function holdings(plan: Plan, roots: string[]): Holdings {
    const named = (type: string, name: string) => plan.resources.find((r) => r.type === type && (r.inputs.metadata as { name?: string } | undefined)?.name === name)!;
    const clear = (type: string, name: string) => inputsInTheClear(plan, named(type, name).urn);
    const cacerts = clear("kubernetes:core/v1:Secret", "cacerts").stringData as Record<string, string>;
    const tls = clear("kubernetes:core/v1:Secret", "istiod-tls").stringData as Record<string, string>;
    const caBundles = (type: string, name: string) =>
        (named(type, name).inputs.webhooks as { clientConfig: { caBundle: string } }[]).map((w) => Buffer.from(w.clientConfig.caBundle, "base64").toString());
    const rootsOf = (pem: string) => certificatesIn(pem).map((c) => c.fingerprint256);
    const bundles: Record<string, string[]> = {
        "Secret istio-system/cacerts root-cert.pem": rootsOf(cacerts["root-cert.pem"]),
        "Secret istio-system/istiod-tls ca.crt": rootsOf(tls["ca.crt"]),
    };
    for (const [type, name] of [
        ["kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration", "istio-sidecar-injector"],
        ["kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration", "istiod-default-validator"],
        ["kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration", "istio-validator-istio-system"],
    ]) {
        const perWebhook = caBundles(type, name).map(rootsOf);
        for (const each of perWebhook) expect(each).toEqual(perWebhook[0]);
        bundles[`${type.split(":").pop()} ${name} caBundle`] = perWebhook[0];
    }
    const issuerAmong = (pem: string) => {
        const cert = new crypto.X509Certificate(pem);
        const issuer = roots.find((root) => cert.verify(new crypto.X509Certificate(root).publicKey));
        return issuer ? fingerprint(issuer) : "none of the roots";
    };
    const keysMatch =
        new crypto.X509Certificate(cacerts["ca-cert.pem"]).checkPrivateKey(crypto.createPrivateKey(cacerts["ca-key.pem"])) &&
        new crypto.X509Certificate(tls["tls.crt"]).checkPrivateKey(crypto.createPrivateKey(tls["tls.key"]));
    // cert-chain.pem is the intermediate and the root that signed it, whatever else the bundle holds.
    expect(cacerts["cert-chain.pem"].startsWith(cacerts["ca-cert.pem"])).toBe(true);
    expect(certificatesIn(cacerts["cert-chain.pem"]).map((c) => c.fingerprint256)).toEqual([fingerprint(cacerts["ca-cert.pem"]), issuerAmong(cacerts["ca-cert.pem"])]);
    return { bundles, signerRoot: issuerAmong(cacerts["ca-cert.pem"]), servingRoot: issuerAmong(tls["tls.crt"]), keysMatch };
}

const certificatesOf = (plan: Plan) => byName(plan, "mesh-certificates").outputs as unknown as MeshCertificatesOutputs;
const everyBundle = (h: Holdings) => [...new Set(Object.values(h.bundles).map((roots) => JSON.stringify(roots)))].map((s) => JSON.parse(s) as string[]);
const tlsOf = (plan: Plan) => inputsInTheClear(plan, byName(plan, "istiod-tls").urn).stringData as Record<string, string>;
const cacertsOf = (plan: Plan) => inputsInTheClear(plan, byName(plan, "cacerts").urn).stringData as Record<string, string>;

let removeRelease: () => void;
let before: Plan;
let trusted: Plan;
let signed: Plan;
let retired: Plan;
let rotatedAgain: Plan;
let trustAndSign: Plan;
let roots: string[];
const TRUST = ["certificates.rotation=1", "certificates.signing=0"];
const SIGN = ["certificates.rotation=1", "certificates.signing=1"];
const RETIRE = [...SIGN, "certificates.retired=1"];
beforeAll(async () => {
    removeRelease = unpackedRelease();
    before = await planFor("dev", [], { afterUp: true });
    trusted = await planFor("dev", TRUST, { afterUp: true, previous: before });
    signed = await planFor("dev", SIGN, { afterUp: true, previous: trusted });
    retired = await planFor("dev", RETIRE, { afterUp: true, previous: signed });
    // The next rotation, with retired left at 1 and signing unset: the trust and the sign step in one up;
    // the root of rotation 1 stays trusted beside the new one.
    rotatedAgain = await planFor("dev", ["certificates.rotation=2", "certificates.retired=1"], { afterUp: true, previous: retired });
    // A stack that never sets signing: the first rotation trusts and signs in one up.
    trustAndSign = await planFor("dev", ["certificates.rotation=1"], { afterUp: true, previous: before });
    roots = [before, trusted, rotatedAgain, trustAndSign].map((p) => certificatesOf(p).rootCertPem);
});
afterAll(() => removeRelease());

describe("a root rotation, step by step: trust, sign, retire", () => {
    test("one new root per rotation; the sign and the retire step make none", () => {
        expect(new Set(roots.map(fingerprint)).size).toBe(4);
        expect(certificatesOf(signed).rootCertPem).toBe(certificatesOf(trusted).rootCertPem);
        expect(certificatesOf(retired).rootCertPem).toBe(certificatesOf(trusted).rootCertPem);
    });

    test("before: every bundle holds the one root, which signs the intermediate and istiod's serving certificate", () => {
        const [old] = roots.map(fingerprint);
        const h = holdings(before, roots);
        expect(everyBundle(h)).toEqual([[old]]);
        expect(h).toMatchObject({ signerRoot: old, servingRoot: old, keysMatch: true });
    });

    test("trust: every bundle holds the new root and the old one; the old root still signs, with the very intermediate it had; istiod still presents the old root's serving certificate", () => {
        const [old, fresh] = roots.map(fingerprint);
        const h = holdings(trusted, roots);
        expect(Object.keys(h.bundles)).toHaveLength(5);
        expect(everyBundle(h)).toEqual([[fresh, old]]);
        expect(h).toMatchObject({ signerRoot: old, servingRoot: old, keysMatch: true });
        // Nothing is handed a certificate of the new root yet: the signer and the serving certificate are those from before.
        expect(cacertsOf(trusted)["ca-cert.pem"]).toBe(cacertsOf(before)["ca-cert.pem"]);
        expect(tlsOf(trusted)["tls.crt"]).toBe(tlsOf(before)["tls.crt"]);
    });

    test("sign: the new root signs; every bundle and istiod's serving certificate stay exactly as the trust step left them", () => {
        const [old, fresh] = roots.map(fingerprint);
        const h = holdings(signed, roots);
        expect(everyBundle(h)).toEqual([[fresh, old]]);
        expect(h).toMatchObject({ signerRoot: fresh, servingRoot: old, keysMatch: true });
        // Of the five objects that take the certificates, only cacerts changes: its signing files, not its bundle.
        const inputsOf = (plan: Plan) =>
            Object.fromEntries(
                plan.resources
                    .filter((r) => OBJECTS_WITH_CERTIFICATES.some((o) => o.endsWith(`/${(r.inputs.metadata as { name?: string })?.name}`) || o.endsWith(` ${(r.inputs.metadata as { name?: string })?.name}`)))
                    .map((r) => [r.urn, JSON.stringify(inputsInTheClear(plan, r.urn))]),
            );
        const [then, now] = [inputsOf(trusted), inputsOf(signed)];
        expect(Object.keys(now)).toHaveLength(5);
        expect(Object.keys(now).filter((urn) => now[urn] !== then[urn]).map((urn) => urn.split("::").pop())).toEqual(["cacerts"]);
        expect(cacertsOf(signed)["root-cert.pem"]).toBe(cacertsOf(trusted)["root-cert.pem"]);
        // The certificates themselves are not updated: the sign step only picks the other kept intermediate.
        expect(certificatesOf(signed)).toEqual(certificatesOf(trusted));
    });

    test("until the retire step, the sign step can be undone: signing back at rotation - 1 has the old intermediate sign again, with nothing else changed", async () => {
        const undone = await planFor("dev", TRUST, { afterUp: true, previous: signed });
        expect(cacertsOf(undone)).toEqual(cacertsOf(trusted));
        expect(tlsOf(undone)).toEqual(tlsOf(signed));
        expect(certificatesOf(undone)).toEqual(certificatesOf(signed));
    });

    test("after the retire step, an up with retired unset again changes nothing; signing back at rotation - 1 then stops the preview, naming the key, the value and what is allowed", async () => {
        const unretired = await planFor("dev", SIGN, { afterUp: true, previous: retired });
        expect(certificatesOf(unretired)).toEqual(certificatesOf(retired));
        expect(cacertsOf(unretired)).toEqual(cacertsOf(retired));
        const again = await planFor("dev", SIGN, { previous: unretired });
        expect(again.resources.filter((r) => JSON.stringify([r.inputs, r.outputs]).includes('"[unknown]"')).map((r) => r.name)).toEqual([]);
        const refusal = /istio-minikube:certificates\.signing = 0 is not allowed: root 0 was retired \(certificates\.retired 1 at an earlier up\)\. Expected 1 or unset/;
        await expect(planFor("dev", TRUST, { previous: unretired })).rejects.toThrow(refusal);
    });

    test("retire: every bundle holds only the new root, which now signs istiod's serving certificate too; the old intermediate's key is gone", () => {
        const [old, fresh] = roots.map(fingerprint);
        const h = holdings(retired, roots);
        expect(everyBundle(h)).toEqual([[fresh]]);
        expect(h).toMatchObject({ signerRoot: fresh, servingRoot: fresh, keysMatch: true });
        expect(JSON.stringify(h.bundles)).not.toContain(old);
        const state = (plan: Plan) => stateInTheClear(plan, byName(plan, "mesh-certificates").type, "mesh-certificates");
        expect(state(retired)).toMatchObject({ previousRootCertPem: "", previousIntermediateCertPem: "", previousIntermediateKeyPem: "" });
        expect(JSON.stringify(state(retired))).not.toContain(String(state(before).intermediateKeyPem).slice(40, 120));
    });

    test("the next rotation with signing unset trusts and signs in one up, keeps the root retire left beside its own, and never brings back the retired one", () => {
        const [old, middle, newest] = roots.map(fingerprint);
        const h = holdings(rotatedAgain, roots);
        expect(everyBundle(h)).toEqual([[newest, middle]]);
        expect(h).toMatchObject({ signerRoot: newest, servingRoot: middle, keysMatch: true });
        expect(JSON.stringify(h.bundles)).not.toContain(old);
    });

    test("a stack that never sets signing: the rotation's one up trusts both roots and signs with the new one", () => {
        const [old, , , fresh] = roots.map(fingerprint);
        const h = holdings(trustAndSign, roots);
        expect(everyBundle(h)).toEqual([[fresh, old]]);
        expect(h).toMatchObject({ signerRoot: fresh, servingRoot: old, keysMatch: true });
        expect(tlsOf(trustAndSign)["tls.crt"]).toBe(tlsOf(before)["tls.crt"]);
    });

    test("no step deletes anything: the same resources after each, and the certificates are updated in place, never replaced", async () => {
        const urns = (p: Plan) => p.resources.map((r) => r.urn).sort();
        for (const plan of [trusted, signed, retired, rotatedAgain, trustAndSign]) expect(urns(plan)).toEqual(urns(before));
        // The inputs each step's up registered, not the outputs its state holds: a step that changes no
        // certificate keeps the outputs the step before left (the sign step's are the trust step's).
        const inputsOf = (p: Plan): MeshCertificatesInputs => {
            const { organization, servingDnsNames, validityDays, rotation, keepPreviousRoot, previousRootSigns } = inputsInTheClear(p, byName(p, "mesh-certificates").urn) as unknown as MeshCertificatesInputs;
            return { organization, servingDnsNames, validityDays, rotation, keepPreviousRoot, previousRootSigns };
        };
        for (const [from, to, changes] of [
            [before, trusted, true],
            [trusted, signed, false],
            [signed, retired, true],
            [retired, rotatedAgain, true],
        ] as const) {
            // Each step changes an input (the sign step: previousRootSigns), so each diff compares two different things.
            expect(inputsOf(to)).not.toEqual(inputsOf(from));
            expect(await meshCertificatesProvider.diff!("id", certificatesOf(from), inputsOf(to))).toEqual({ changes, replaces: [], deleteBeforeReplace: false });
        }
    });
});

describe("the previews of the steps", () => {
    let trustPreview: Plan;
    let signPreview: Plan;
    let retirePreview: Plan;
    beforeAll(async () => {
        trustPreview = await planFor("dev", TRUST, { previous: before });
        signPreview = await planFor("dev", SIGN, { previous: trusted });
        retirePreview = await planFor("dev", RETIRE, { previous: signed });
    });

    const hasUnknown = (value: unknown): boolean => JSON.stringify(value).includes('"[unknown]"');
    const waitingObjects = (plan: Plan) =>
        plan.resources
            .filter((r) => r.type.startsWith("kubernetes:") && !r.remote && hasUnknown(r.inputs))
            .map((r) => {
                const { name, namespace } = r.inputs.metadata as { name: string; namespace?: string };
                return `${r.type.split(":").pop()} ${namespace ? `${namespace}/` : ""}${name}`;
            })
            .sort();

    test.each([
        ["trust", () => trustPreview, () => before],
        ["retire", () => retirePreview, () => signed],
    ])("%s: exactly the five objects that take the certificates wait for values; every resource the update keeps is planned", (_step, preview, state) => {
        expect(waitingObjects(preview())).toEqual([...OBJECTS_WITH_CERTIFICATES].sort());
        expect(preview().resources.map((r) => r.urn).sort()).toEqual(state().resources.map((r) => r.urn).sort());
    });

    test("sign: no object waits for a value, so the preview shows cacerts' new signing files as they will be written", () => {
        expect(waitingObjects(signPreview)).toEqual([]);
        expect(cacertsOf(signPreview)).toEqual(cacertsOf(signed));
    });

    test.each([
        ["after the trust step", TRUST, () => trusted],
        ["after the sign step", SIGN, () => signed],
    ])("a preview with nothing changed %s keeps every output known", async (_when, config, state) => {
        const again = await planFor("dev", config, { previous: state() });
        expect(again.resources.filter((r) => hasUnknown(r.inputs) || hasUnknown(r.outputs)).map((r) => r.name)).toEqual([]);
    });

    test("from the trust step, a new rotation or a retire in the same up as the signer switch stops the preview, naming the key and what is allowed", async () => {
        await expect(planFor("dev", ["certificates.rotation=2", "certificates.signing=1"], { previous: trusted })).rejects.toThrow(
            /istio-minikube:certificates\.rotation = 2 is not allowed while root 0 still signs .* Expected 1 until the sign step/,
        );
        await expect(planFor("dev", ["certificates.rotation=1", "certificates.retired=1"], { previous: trusted })).rejects.toThrow(
            /istio-minikube:certificates\.retired = 1 is not allowed in the up that switches the signer/,
        );
    });
});

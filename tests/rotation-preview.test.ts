// Issue 12, item 2: the preview of a certificate rotation lists what the update will do. The new root is
// made during `up`, so only the objects that take the root itself can show values still to be known; the
// charts and the samples take a fingerprint of the certificate settings, known at preview, so the engine
// can render them and list their children's updates. (A remote component whose inputs are unknown renders
// no children in a preview, and the engine then lists every child it had as a delete.) The Secrets and
// ConfigMaps that change are updated in place, never deleted and created again.
import * as pulumi from "@pulumi/pulumi";
import { byName, ofType, planFor, unpackedRelease } from "./helpers/plan";
import { certificatesFingerprint } from "../components/istio/chartValues";
import { CERTIFICATES_PREVIEW_WARNING, meshCertificateInputs, OBJECTS_WITH_CERTIFICATES, warnWhileCertificatesUnknown } from "../components/trust/meshCertificates";
import type { Plan, PlannedResource } from "../scripts/offline-plan";

jest.setTimeout(120_000);

/** Every "[unknown]" anywhere in a value. */
const hasUnknown = (value: unknown): boolean => JSON.stringify(value).includes('"[unknown]"');

let deployed: Plan;
let rotation: Plan;
let removeRelease: () => void;
beforeAll(async () => {
    removeRelease = unpackedRelease();
    deployed = await planFor("dev", [], { afterUp: true });
    rotation = await planFor("dev", ["certificates.rotation=1"], { previous: deployed });
});
afterAll(() => removeRelease());

const stackSettings = (n: number) => meshCertificateInputs("dev", { validityDays: 365, rotation: n });
const kubernetesObjectName = (r: PlannedResource) => {
    const { name, namespace } = r.inputs.metadata as { name: string; namespace?: string };
    return `${r.type.split(":").pop()} ${namespace ? `${namespace}/` : ""}${name}`;
};

describe("the preview of a rotation", () => {
    test("the certificates are updated in place, their new root unknown until `up` makes it", () => {
        expect(byName(rotation, "mesh-certificates").outputs.rootCertPem).toBe("[unknown]");
        expect(byName(deployed, "mesh-certificates").outputs.rootCertPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    });

    test("no chart or sample group has an unknown input: the engine renders them and lists updates, not deletes", () => {
        const remote = rotation.resources.filter((r) => r.remote);
        expect(remote.map((r) => r.name).sort()).toEqual(
            [
                "istio-base",
                "istiod",
                "sleep-default",
                "bookinfo-default",
                "sleep-manual-inject",
                "bookinfo-manual-inject",
                "sleep-outside-mesh",
                "istio-ingressgateway",
                "bookinfo-gateway-default",
                "addon-prometheus",
                "addon-kiali",
            ].sort(),
        );
        for (const component of remote) expect({ name: component.name, unknown: hasUnknown(component.inputs) }).toEqual({ name: component.name, unknown: false });
        // istiod rolls to the new Secrets: its pod annotation is the new generation's fingerprint.
        const values = byName(rotation, "istiod").inputs.values as { pilot: { podAnnotations: Record<string, string> } };
        expect(values.pilot.podAnnotations).toEqual({ "istio-minikube/certificates": certificatesFingerprint(stackSettings(1)) });
        // So does the ingress gateway, whose proxy must get its certificate from the new root too.
        const gateway = byName(rotation, "istio-ingressgateway").inputs.values as { podAnnotations: Record<string, string> };
        expect(gateway.podAnnotations).toEqual(values.pilot.podAnnotations);
    });

    test("the samples, injected by hand or by the webhook, carry the new fingerprint; kube-inject does not run again", () => {
        const samples = ofType(rotation, "kubernetes:yaml/v2:ConfigGroup").filter((g) => /^(sleep|bookinfo)-/.test(g.name) && !g.name.startsWith("bookinfo-gateway-"));
        expect(samples).toHaveLength(5);
        for (const group of samples.filter((g) => g.name !== "sleep-outside-mesh")) {
            expect(group.inputs.yaml).toContain(`istio-minikube/certificates: ${certificatesFingerprint(stackSettings(1))}`);
        }
        const injects = rotation.resources.filter((r) => r.name.endsWith("-kube-inject"));
        expect(injects.map((r) => r.name).sort()).toEqual(["bookinfo-manual-inject-kube-inject", "sleep-manual-inject-kube-inject"]);
        for (const inject of injects) {
            // The same input as in state: the engine plans no update, and its output stays known.
            expect(inject.inputs).toEqual(byName(deployed, inject.name).inputs);
            expect(inject.outputs.stdout).not.toBe("[unknown]");
            expect(inject.inputs.stdin).not.toContain("istio-minikube/certificates");
        }
        expect(certificatesFingerprint(stackSettings(0))).not.toBe(certificatesFingerprint(stackSettings(1)));
    });

    test("only the objects the warning names take the new root; the same resources are planned as the update keeps", () => {
        const waiting = rotation.resources.filter((r) => r.type.startsWith("kubernetes:") && !r.remote && hasUnknown(r.inputs)).map(kubernetesObjectName);
        expect(waiting.sort()).toEqual([...OBJECTS_WITH_CERTIFICATES].sort());
        for (const name of OBJECTS_WITH_CERTIFICATES) expect(CERTIFICATES_PREVIEW_WARNING).toContain(name);
        // Nothing of the deployed stack is missing from the preview (the engine would list it as a delete).
        expect(rotation.resources.map((r) => r.urn).sort()).toEqual(deployed.resources.map((r) => r.urn).sort());
    });

    test("Secrets and ConfigMaps are updated in place: both providers make them mutable", () => {
        // pulumi-kubernetes provider/diff.go replaces a Secret or ConfigMap whose data changes unless the
        // provider has enableSecretMutable / enableConfigMapMutable, and a named object is deleted first.
        const providers = ofType(rotation, "pulumi:providers:kubernetes");
        expect(providers).toHaveLength(2);
        // (The SDK sends a provider's inputs as strings.)
        for (const provider of providers) expect(provider.inputs).toMatchObject({ enableSecretMutable: "true", enableConfigMapMutable: "true" });
    });

    test("a preview with nothing changed keeps every output known", async () => {
        const again = await planFor("dev", [], { previous: deployed });
        expect(again.resources.filter((r) => hasUnknown(r.inputs) || hasUnknown(r.outputs)).map((r) => r.name)).toEqual([]);
    });
});

describe("warnWhileCertificatesUnknown", () => {
    beforeAll(async () => {
        await pulumi.runtime.setMocks({ newResource: async (a) => ({ id: "x", state: a.inputs }), call: async () => ({}) }, "p", "s", true);
    });

    // An Output whose value is not known yet, as a resource being replaced gives during preview.
    const unknownOutput = () => new (pulumi.Output as any)(new Set(), Promise.resolve(undefined), Promise.resolve(false), Promise.resolve(false), Promise.resolve(new Set()));

    test("during preview, an unknown root prints the explanation once; it promises no delete", async () => {
        const warnings: string[] = [];
        await expect(warnWhileCertificatesUnknown(unknownOutput(), (m) => warnings.push(m))).resolves.toBe(true);
        expect(warnings).toEqual([CERTIFICATES_PREVIEW_WARNING]);
        expect(CERTIFICATES_PREVIEW_WARNING).not.toMatch(/delete/);
    });

    test("a known root prints nothing", async () => {
        const warnings: string[] = [];
        await expect(warnWhileCertificatesUnknown(pulumi.output("-----BEGIN CERTIFICATE-----"), (m) => warnings.push(m))).resolves.toBe(false);
        expect(warnings).toEqual([]);
    });
});

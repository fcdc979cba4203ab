// Issue 9, item 6: a cluster that already holds an Istio (istioctl, Helm, another stack, or the CRDs an
// earlier destroy left) is refused before the first change, with the list of what is in the way, unless
// the stack opts in to adopting it (upsertExistingObjects). kubectl is a fake on PATH that answers from
// files, the way a cluster with or without those objects would.
import * as fs from "fs";
import * as path from "path";
import { createFakeBin, FakeBin } from "./helpers/fakeBin";
import { byName, ofType, planFor, providerOf } from "./helpers/plan";
import { labelOwnCrds } from "../components/istio/istioControlPlane";
import { findExistingIstio, kubectlFor, ownerLabelValue, OWNER_LABEL, refuseForeignIstio } from "../components/istio/existingIstio";
import { parseSettings } from "../components/config";

jest.setTimeout(120_000);

/**
 * A kubectl that prints, for `get namespaces` (JSON), the file $FAKE_STATE/namespaces.json or an empty
 * list; for `get KIND`, the file $FAKE_STATE/KIND (names, one per line); for `get KIND --selector=S`, the
 * lines of $FAKE_STATE/KIND.labels ("name label=value") whose label is S. $FAKE_STATE/down makes every
 * call fail like an unreachable server.
 */
const KUBECTL = `[ -e "$FAKE_STATE/down" ] && { echo 'Unable to connect to the server: dial tcp 127.0.0.1:6443: connect: connection refused' >&2; exit 1; }
kind=$4
if [ "$kind" = namespaces ]; then
    cat "$FAKE_STATE/namespaces.json" 2>/dev/null || echo '{"apiVersion":"v1","items":[],"kind":"List"}'
    exit 0
fi
case "$5" in
    --selector=*)
        while read -r name label; do [ "--selector=$label" = "$5" ] && echo "$name"; done <"$FAKE_STATE/$kind.labels" 2>/dev/null
        exit 0 ;;
esac
cat "$FAKE_STATE/$kind" 2>/dev/null
exit 0`;

let bin: FakeBin;
const savedPath = process.env.PATH;
beforeEach(() => {
    bin = createFakeBin({ kubectl: KUBECTL });
    process.env.PATH = `${bin.dir}:${savedPath}`;
});
afterEach(() => {
    process.env.PATH = savedPath;
    bin.cleanup();
});

const cluster = (objects: Record<string, string[]>) => {
    for (const [kind, names] of Object.entries(objects)) fs.writeFileSync(path.join(bin.stateDir, kind), names.map((n) => `${n}\n`).join(""));
};
/** istio-system as `kubectl get namespaces -o json --show-managed-fields` prints it. */
const istioSystem = (labels: Record<string, string> = {}, managers: string[] = ["kubectl-create"]) =>
    fs.writeFileSync(
        path.join(bin.stateDir, "namespaces.json"),
        JSON.stringify({
            apiVersion: "v1",
            kind: "List",
            items: [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-system", labels: { "kubernetes.io/metadata.name": "istio-system", ...labels }, managedFields: managers.map((manager) => ({ manager, operation: "Apply" })) } }],
        }),
    );
const OWNER = ownerLabelValue("istio-minikube", "cluster");
const kubectl = () => kubectlFor("my-cluster", { PATH: process.env.PATH });

describe("findExistingIstio", () => {
    test("an empty cluster is clear; every look-up is pinned to the context and bounded in time", () => {
        cluster({ customresourcedefinitions: ["customresourcedefinition.apiextensions.k8s.io/certificates.cert-manager.io"] });
        expect(findExistingIstio(kubectl(), OWNER)).toEqual({ status: "clear" });
        const calls = bin.callsOf("kubectl");
        expect(calls).toHaveLength(5);
        for (const args of calls) expect(args.slice(0, 2)).toEqual(["--context=my-cluster", "--request-timeout=15s"]);
        expect(calls[0]).toEqual([
            "--context=my-cluster",
            "--request-timeout=15s",
            "get",
            "namespaces",
            "--field-selector",
            "metadata.name=istio-system",
            "--show-managed-fields",
            "--output=json",
        ]);
    });

    test("another install: namespace, webhooks and CRDs are listed; unrelated webhooks are not", () => {
        istioSystem({ "istio.io/rev": "default" }, ["istio-operator", "kubectl-client-side-apply"]);
        cluster({
            customresourcedefinitions: [
                "customresourcedefinition.apiextensions.k8s.io/peerauthentications.security.istio.io",
                "customresourcedefinition.apiextensions.k8s.io/virtualservices.networking.istio.io",
                "customresourcedefinition.apiextensions.k8s.io/certificates.cert-manager.io",
            ],
            mutatingwebhookconfigurations: ["mutatingwebhookconfiguration.admissionregistration.k8s.io/istio-sidecar-injector", "mutatingwebhookconfiguration.admissionregistration.k8s.io/cert-manager-webhook"],
            validatingwebhookconfigurations: ["validatingwebhookconfiguration.admissionregistration.k8s.io/istiod-default-validator"],
        });
        expect(findExistingIstio(kubectl(), OWNER)).toEqual({
            status: "in-the-way",
            objects: [
                "namespace/istio-system",
                "mutatingwebhookconfiguration.admissionregistration.k8s.io/istio-sidecar-injector",
                "validatingwebhookconfiguration.admissionregistration.k8s.io/istiod-default-validator",
                "customresourcedefinition.apiextensions.k8s.io/peerauthentications.security.istio.io",
                "customresourcedefinition.apiextensions.k8s.io/virtualservices.networking.istio.io",
            ],
        });
    });

    test("the stack's own install (istio-system carries its owner label) is not in the way, and nothing else is asked", () => {
        istioSystem({ [OWNER_LABEL]: OWNER }, ["pulumi-kubernetes-4f3a2b1c"]);
        cluster({ customresourcedefinitions: ["customresourcedefinition.apiextensions.k8s.io/gateways.networking.istio.io"] });
        expect(findExistingIstio(kubectl(), OWNER)).toEqual({ status: "ours" });
        expect(bin.callsOf("kubectl")).toHaveLength(1);
    });

    test("another stack's install (another owner label) is in the way, even though Pulumi made it", () => {
        istioSystem({ [OWNER_LABEL]: ownerLabelValue("istio-minikube", "other") }, ["pulumi-kubernetes-9d8e7f6a"]);
        expect(findExistingIstio(kubectl(), OWNER)).toEqual({ status: "in-the-way", objects: ["namespace/istio-system"] });
    });

    test.each([
        ["server-side apply", {}, ["pulumi-kubernetes-4f3a2b1c", "kube-controller-manager"]],
        ["client-side apply", { "app.kubernetes.io/managed-by": "pulumi" }, ["pulumi-kubernetes"]],
    ])("a stack deployed before the owner label (Pulumi made istio-system by %s, no owner label) is taken as this stack's own", (_how, labels, managers) => {
        istioSystem(labels, managers);
        expect(findExistingIstio(kubectl(), OWNER)).toEqual({ status: "ours" });
    });

    test("an istio-system no Pulumi provider made (istioctl, Helm) is in the way", () => {
        istioSystem({}, ["istioctl", "helm"]);
        expect(findExistingIstio(kubectl(), OWNER)).toEqual({ status: "in-the-way", objects: ["namespace/istio-system"] });
    });

    test("kubectl printing something that is not JSON is reported, not taken for a clear cluster", () => {
        fs.writeFileSync(path.join(bin.stateDir, "namespaces.json"), "error: You must be logged in to the server (Unauthorized)\n");
        expect(findExistingIstio(kubectl(), OWNER)).toMatchObject({ status: "unreachable" });
    });

    test("a cluster that does not answer is reported as unreachable with kubectl's reason", () => {
        fs.writeFileSync(path.join(bin.stateDir, "down"), "");
        expect(findExistingIstio(kubectl(), OWNER)).toEqual({
            status: "unreachable",
            reason: "Unable to connect to the server: dial tcp 127.0.0.1:6443: connect: connection refused",
        });
    });
});

describe("the CRDs a destroy keeps (issue 12, item 3)", () => {
    const PEER = "customresourcedefinition.apiextensions.k8s.io/peerauthentications.security.istio.io";
    const GATEWAYS = "customresourcedefinition.apiextensions.k8s.io/gateways.networking.istio.io";
    const labelled = (lines: [string, string][]) =>
        fs.writeFileSync(path.join(bin.stateDir, "customresourcedefinitions.labels"), lines.map(([name, owner]) => `${name} ${OWNER_LABEL}=${owner}\n`).join(""));

    test("this stack's own leftovers (its owner label, no istio-system) do not block its next up", () => {
        cluster({ customresourcedefinitions: [PEER, GATEWAYS] });
        labelled([[PEER, OWNER], [GATEWAYS, OWNER]]);
        expect(findExistingIstio(kubectl(), OWNER)).toEqual({ status: "clear" });
        expect(bin.callsOf("kubectl")).toContainEqual(["--context=my-cluster", "--request-timeout=15s", "get", "customresourcedefinitions", `--selector=${OWNER_LABEL}=${OWNER}`, "--output=name"]);
    });

    test("another stack's, or unlabelled ones (istioctl, Helm), still do; only those are listed", () => {
        cluster({ customresourcedefinitions: [PEER, GATEWAYS] });
        labelled([[PEER, OWNER], [GATEWAYS, ownerLabelValue("istio-minikube", "other")]]);
        expect(findExistingIstio(kubectl(), OWNER)).toEqual({ status: "in-the-way", objects: [GATEWAYS] });
        labelled([]);
        expect(findExistingIstio(kubectl(), OWNER)).toEqual({ status: "in-the-way", objects: [PEER, GATEWAYS] });
    });

    test("the base chart labels its CRDs with the owner, and nothing else", () => {
        const transform = labelOwnCrds(OWNER);
        const crd = { type: "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", name: "istio-base:gateways.networking.istio.io", custom: true, props: { metadata: { name: "gateways.networking.istio.io", labels: { "app.kubernetes.io/part-of": "istio" } }, spec: {} }, opts: {} };
        expect(transform(crd as any)).toEqual({
            props: { metadata: { name: "gateways.networking.istio.io", labels: { "app.kubernetes.io/part-of": "istio", [OWNER_LABEL]: OWNER } }, spec: {} },
            opts: {},
        });
        expect(transform({ ...crd, type: "kubernetes:core/v1:ServiceAccount" } as any)).toBeUndefined();
    });

    test("the base chart goes through a provider that adopts what exists; everything else through one that does not", async () => {
        const plan = await planFor("cluster");
        const base = byName(plan, "istio-base");
        const providers = ofType(plan, "pulumi:providers:kubernetes");
        const adopting = providers.find((p) => p.urn === base.provider)!;
        expect(adopting.inputs).toMatchObject({ context: "my-cluster", clusterIdentifier: "context/my-cluster", upsertExistingObjects: "true" });
        const main = providers.find((p) => p !== adopting)!;
        expect(main.inputs).not.toHaveProperty("upsertExistingObjects");
        const others = plan.resources.filter((r) => r.type.startsWith("kubernetes:") && r.name !== "istio-base");
        for (const r of others) expect({ name: r.name, provider: r.provider }).toEqual({ name: r.name, provider: main.urn });
    });
});

describe("refuseForeignIstio", () => {
    test("stops with the objects and both ways out, naming the config key", () => {
        istioSystem();
        cluster({ customresourcedefinitions: ["customresourcedefinition.apiextensions.k8s.io/gateways.networking.istio.io"] });
        expect(() => refuseForeignIstio({ context: "my-cluster", owner: OWNER, stack: "cluster", dryRun: false, kubectl: kubectl() })).toThrow(
            /already has Istio objects this stack did not create \(nothing was changed\):\n {2}- namespace\/istio-system\n {2}- customresourcedefinition\.apiextensions\.k8s\.io\/gateways\.networking\.istio\.io\n[\s\S]*pulumi config set upsertExistingObjects true --stack cluster/,
        );
    });

    test("an unreachable cluster is a warning, not a refusal", () => {
        fs.writeFileSync(path.join(bin.stateDir, "down"), "");
        const warnings: string[] = [];
        expect(refuseForeignIstio({ context: "my-cluster", owner: OWNER, stack: "cluster", dryRun: true, kubectl: kubectl(), warn: (m) => warnings.push(m) })).toMatchObject({
            status: "unreachable",
        });
        expect(warnings).toEqual([expect.stringContaining("Could not look for an existing Istio in context 'my-cluster'")]);
    });
});

describe("the upsertExistingObjects key", () => {
    const ENV = { homeDir: "/h", projectDir: "/p" };

    test("defaults to false and takes only true or false", () => {
        expect(parseSettings({}, "dev", ENV).upsertExistingObjects).toBe(false);
        expect(parseSettings({ "istio-minikube:upsertExistingObjects": "true" }, "dev", ENV).upsertExistingObjects).toBe(true);
        expect(() => parseSettings({ "istio-minikube:upsertExistingObjects": '"yes"' }, "dev", ENV)).toThrow(
            'istio-minikube:upsertExistingObjects = "yes" is not allowed: expected true or false',
        );
    });

    test.each(["dev", "cluster"])("stack %s: set, it reaches the provider; unset, the provider config has no such key", async (stack) => {
        expect(providerOf(await planFor(stack)).inputs).not.toHaveProperty("upsertExistingObjects");
        expect(providerOf(await planFor(stack, ["upsertExistingObjects=true"])).inputs).toMatchObject({ upsertExistingObjects: "true" });
    });

    test("istio-system carries the stack's owner label, the mark a later run recognises", async () => {
        const plan = await planFor("dev");
        expect(byName(plan, "istio-system").inputs.metadata).toEqual({
            name: "istio-system",
            labels: { [OWNER_LABEL]: "istio-minikube.dev" },
            annotations: { "pulumi.com/patchFieldManager": "pulumi/istio-minikube/dev" },
        });
    });
});

describe("ownerLabelValue", () => {
    test("project.stack when that is a valid label value, a hash of the stack otherwise", () => {
        expect(ownerLabelValue("istio-minikube", "dev")).toBe("istio-minikube.dev");
        expect(ownerLabelValue("istio-minikube", "my_stack")).toBe("istio-minikube.my_stack");
        const long = ownerLabelValue("istio-minikube", "x".repeat(100));
        expect(long).toMatch(/^istio-minikube\.[0-9a-f]{16}$/);
        expect(ownerLabelValue("istio-minikube", "x_")).toMatch(/^istio-minikube\.[0-9a-f]{16}$/);
    });
});

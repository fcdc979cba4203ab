// One server-side-apply field manager per stack (components/fieldManager.ts): an object a killed run created
// and the next run creates again is applied by the same manager both times, so it has one owner and the next
// change (a rotation's new certificates annotation) meets no conflict with a manager no state knows.
import * as pulumi from "@pulumi/pulumi";
import { FIELD_MANAGER_ANNOTATION, fieldManagerTransform, ownsWholeObject, stackFieldManager } from "../components/fieldManager";
import { byName, ofType, planFor } from "./helpers/plan";

jest.setTimeout(120_000);

describe("stackFieldManager", () => {
    test("derived from the project and the stack, the same on every run", () => {
        expect(stackFieldManager("istio-minikube", "dev")).toBe("pulumi/istio-minikube/dev");
        expect(stackFieldManager("istio-minikube", "dev")).toBe(stackFieldManager("istio-minikube", "dev"));
    });

    test("distinct per stack, and per project (no two project/stack pairs spell the same name)", () => {
        const names = [
            stackFieldManager("istio-minikube", "dev"),
            stackFieldManager("istio-minikube", "cluster"),
            stackFieldManager("istio-minikube", "dev2"),
            stackFieldManager("istio-minikube-dev", "x"),
            stackFieldManager("istio", "minikube-dev"),
            stackFieldManager("other", "dev"),
        ];
        expect(new Set(names).size).toBe(names.length);
    });

    test("never longer than the API server allows (128), and still distinct when cut", () => {
        const long = "s".repeat(100);
        const a = stackFieldManager("p".repeat(100), long);
        const b = stackFieldManager("p".repeat(100), `${long.slice(1)}t`);
        for (const name of [a, b]) {
            expect(name.length).toBeLessThanOrEqual(128);
            expect(name).toMatch(/^[\x21-\x7e]+$/); // printable, as the API server requires
        }
        expect(a.length).toBe(128);
        expect(a).not.toBe(b);
        expect(a).toBe(stackFieldManager("p".repeat(100), long));
    });

    test("not a name pulumi-kubernetes or Kubernetes use themselves", () => {
        const name = stackFieldManager("istio-minikube", "dev");
        // provider.go fieldManagerName's random default and the client-side names fixCSAFieldManagers takes over.
        expect(name).not.toMatch(/^pulumi-kubernetes/);
        expect(name).not.toMatch(/^(pulumi-resource-kubernetes|kubectl|before-first-apply)/);
    });
});

describe("the transform for the objects a chart or a YAML group makes", () => {
    const transform = fieldManagerTransform("pulumi/istio-minikube/dev");
    const run = (type: string, custom: boolean, props: Record<string, unknown>) =>
        transform({ type, name: "n", custom, props, opts: {} } as pulumi.ResourceTransformArgs) as { props: Record<string, unknown> } | undefined;

    test("a chart's Deployment gets the annotation; its other annotations and the rest stay", () => {
        const props = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "istiod", namespace: "istio-system", annotations: { a: "b" } }, spec: { replicas: 1 } };
        expect(run("kubernetes:apps/v1:Deployment", true, props)!.props).toEqual({
            ...props,
            metadata: { name: "istiod", namespace: "istio-system", annotations: { a: "b", [FIELD_MANAGER_ANNOTATION]: "pulumi/istio-minikube/dev" } },
        });
    });

    test("an object without metadata annotations, and a CRD", () => {
        expect(run("kubernetes:core/v1:ServiceAccount", true, { metadata: { name: "x" } })!.props.metadata).toEqual({ name: "x", annotations: { [FIELD_MANAGER_ANNOTATION]: "pulumi/istio-minikube/dev" } });
        expect(run("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", true, { metadata: { name: "gateways.networking.istio.io" } })).toBeDefined();
    });

    test("left alone: Patch resources, components (Chart, ConfigGroup), providers, other packages, objects that have it", () => {
        expect(run("kubernetes:core/v1:NamespacePatch", true, { metadata: { name: "default" } })).toBeUndefined();
        expect(run("kubernetes:apps/v1:DeploymentPatch", true, { metadata: { name: "d" } })).toBeUndefined();
        expect(run("kubernetes:helm.sh/v4:Chart", false, { chart: "c" })).toBeUndefined();
        expect(run("kubernetes:yaml/v2:ConfigGroup", false, { yaml: "" })).toBeUndefined();
        expect(run("pulumi:providers:kubernetes", true, { context: "istio-dev" })).toBeUndefined();
        expect(run("command:local:Command", true, { create: "true" })).toBeUndefined();
        expect(run("kubernetes:core/v1:Namespace", true, { metadata: { name: "x", annotations: { [FIELD_MANAGER_ANNOTATION]: "pulumi/istio-minikube/dev" } } })).toBeUndefined();
    });

    test("metadata or annotations not known as plain data (an output, a value unknown in a preview, a secret): left alone rather than guessed", () => {
        class Unknown {}
        const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: { name: "x" } };
        expect(run("kubernetes:core/v1:ConfigMap", true, { metadata: pulumi.output({ name: "x" }) })).toBeUndefined();
        expect(run("kubernetes:core/v1:ConfigMap", true, { metadata: new Unknown() })).toBeUndefined();
        expect(run("kubernetes:core/v1:ConfigMap", true, { metadata: secret })).toBeUndefined();
        expect(run("kubernetes:core/v1:ConfigMap", true, { metadata: { name: "x", annotations: new Unknown() } })).toBeUndefined();
        // A secret or unknown value elsewhere in the object goes through as it came.
        const data = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: { key: "c2VjcmV0" } };
        const unknown = new Unknown();
        const result = run("kubernetes:core/v1:Secret", true, { metadata: { name: "s" }, data, type: unknown })!;
        expect(result.props.data).toBe(data);
        expect(result.props.type).toBe(unknown);
    });

    test("ownsWholeObject", () => {
        expect(ownsWholeObject("kubernetes:core/v1:Secret", true)).toBe(true);
        expect(ownsWholeObject("kubernetes:core/v1:NamespacePatch", true)).toBe(false);
        expect(ownsWholeObject("kubernetes:helm.sh/v4:Chart", false)).toBe(false);
    });
});

describe("offline plan: every Kubernetes object the program makes itself carries the stack's manager", () => {
    test.each(["dev", "cluster"])("stack %s: every typed object but the Patch of `default`; the charts' and groups' children get it from the transform", async (stack) => {
        const plan = await planFor(stack);
        const objects = plan.resources.filter((r) => ownsWholeObject(r.type, r.custom));
        expect(objects.length).toBeGreaterThan(5);
        for (const object of objects) {
            const metadata = object.inputs.metadata as { annotations?: Record<string, string> };
            expect([object.name, metadata.annotations?.[FIELD_MANAGER_ANNOTATION]]).toEqual([object.name, `pulumi/istio-minikube/${stack}`]);
        }
        const patch = byName(plan, "default-injection-label");
        expect((patch.inputs.metadata as { annotations?: object }).annotations).toBeUndefined();
        // The components a provider expands: their children are not in the offline plan (the transform reaches them).
        expect(ofType(plan, "kubernetes:helm.sh/v4:Chart").length).toBeGreaterThan(0);
    });
});

// Issue 12, item 1: a fresh machine's first `pulumi preview` and `pulumi up` of a minikube stack.
//
// The Istio charts are components the Kubernetes provider constructs, and its Construct refuses when the
// cluster is unreachable (pulumi-kubernetes provider/pkg/provider/provider_construct.go). Pulumi's engine
// skips a provider's Construct only while the provider is not configured, and it does not configure one
// while any of its inputs is unknown (pulumi/pulumi sdk/go/common/resource/plugin/provider_plugin.go
// v3.248.0, Configure: `if v.ContainsUnknowns()`; Construct: `if !pcfg.known`). In a preview,
// pulumi-command 1.2.1 answers a command it is about to create with an id but no outputs
// (provider/pkg/provider/local/commandController.go Create), which the offline plan models: a command's id is
// known and its stdout is not. `engineConfigures` below is that rule of the engine, applied to the plan.
import * as fs from "fs";
import * as path from "path";
import { byName, ofType, PLAN_HOME, planFor, unpackedRelease } from "./helpers/plan";
import { missingProfilePreviewMessage, prepareHost } from "../components/cluster/hostPreparation";
import { kubeconfigFiles, missingContextMessage } from "../components/cluster/kubeContext";
import { parseSettings } from "../components/config";
import type { Plan, PlannedResource } from "../scripts/offline-plan";

jest.setTimeout(120_000);

/** provider_plugin.go Configure: the engine configures a provider only when all of its inputs are known. */
const engineConfigures = (provider: PlannedResource) => !JSON.stringify(provider.inputs).includes('"[unknown]"');
/** The provider a resource (a chart) is registered with. */
const providerOfResource = (plan: Plan, resource: PlannedResource) => plan.resources.find((r) => r.urn === resource.provider)!;

describe("a minikube stack whose cluster does not exist yet", () => {
    let first: Plan;
    beforeAll(async () => {
        first = await planFor("dev");
    });

    test("its first preview: the command's id is known, its stdout is not (pulumi-command in a preview)", () => {
        const start = byName(first, "minikube-start");
        expect(start.outputs.stdout).toBe("[unknown]");
    });

    test("the providers wait for minikube's start, so the engine leaves them unconfigured and skips the charts' Construct", () => {
        const providers = ofType(first, "pulumi:providers:kubernetes");
        expect(providers).toHaveLength(2);
        for (const provider of providers) {
            expect(engineConfigures(provider)).toBe(false);
            expect(provider.inputs.clusterIdentifier).toBe("[unknown]");
            expect(provider.inputs.context).toBe("istio-dev");
        }
        for (const chart of ofType(first, "kubernetes:helm.sh/v4:Chart")) {
            expect({ chart: chart.name, constructed: engineConfigures(providerOfResource(first, chart)) }).toEqual({ chart: chart.name, constructed: false });
        }
    });

    test("with the cluster in the stack's state, the next preview configures them: the charts show their real diffs", async () => {
        const removeRelease = unpackedRelease();
        try {
            const deployed = await planFor("dev", [], { afterUp: true });
            const next = await planFor("dev", [], { previous: deployed });
            const providers = ofType(next, "pulumi:providers:kubernetes");
            for (const provider of providers) {
                expect(engineConfigures(provider)).toBe(true);
                // The same identity as before: nothing is replaced.
                expect(provider.inputs.clusterIdentifier).toBe("minikube/istio-dev/minikube-start-id");
            }
            for (const chart of ofType(next, "kubernetes:helm.sh/v4:Chart")) expect(engineConfigures(providerOfResource(next, chart))).toBe(true);
        } finally {
            removeRelease();
        }
    });

    test("the preview says why the charts show no objects yet; the update itself does not", () => {
        const settings = parseSettings({}, "dev", { homeDir: "/home/tester", projectDir: process.cwd() });
        const run = (dryRun: boolean) => {
            const warnings: string[] = [];
            const result = prepareHost(settings, {
                dryRun,
                project: "istio-minikube",
                stack: "dev",
                preflight: () => undefined,
                // minikube-state.sh's answer for a profile minikube does not know (status exit 85).
                env: { ...process.env, PATH: `${fakeMinikube()}:${process.env.PATH}` },
                warn: (m) => warnings.push(m),
            });
            return { result, warnings };
        };
        expect(run(true)).toEqual({ result: { profile: "missing" }, warnings: [missingProfilePreviewMessage("istio-dev")] });
        expect(run(false)).toEqual({ result: { profile: "missing" }, warnings: [] });
        expect(missingProfilePreviewMessage("istio-dev")).toMatch(/'istio-dev' does not exist yet: 'pulumi up' starts it first/);
    });
});

/** A folder with a `minikube` that answers every `status` like minikube for an unknown profile. */
function fakeMinikube(): string {
    const dir = fs.mkdtempSync(path.join(PLAN_HOME, "fake-minikube-"));
    fs.writeFileSync(path.join(dir, "minikube"), '#!/bin/bash\n[ "$1" = status ] && exit 85\nexit 99\n', { mode: 0o755 });
    return dir;
}

describe("an existing-cluster stack whose kubeContext is not in the kubeconfig", () => {
    const settings = parseSettings({ "istio-minikube:cluster": "existing", "istio-minikube:kubeContext": "staging" }, "cluster", { homeDir: "/home/tester", projectDir: process.cwd() });

    test("stops before anything, naming the context, the kubeconfig read and the contexts it has", () => {
        const asked: string[] = [];
        const env = { ...process.env, KUBECONFIG: "/home/tester/.kube/a.yaml:/home/tester/.kube/b.yaml" };
        expect(() =>
            prepareHost(settings, {
                dryRun: true,
                project: "istio-minikube",
                stack: "cluster",
                env,
                preflight: () => undefined,
                listContexts: () => ["minikube", "production"],
                kubectl: (args) => {
                    asked.push(args.join(" "));
                    return "";
                },
            }),
        ).toThrow(
            "The kubeconfig context 'staging' (config kubeContext) is not in /home/tester/.kube/a.yaml, /home/tester/.kube/b.yaml (nothing was changed). " +
                "The contexts there are: minikube, production. Set one of them with 'pulumi config set kubeContext NAME', or point KUBECONFIG at the file that has 'staging'.",
        );
        // The cluster is never asked anything.
        expect(asked).toEqual([]);
    });

    test("a context that is there goes on to the look for another Istio", () => {
        const asked: string[] = [];
        const result = prepareHost(settings, {
            dryRun: true,
            project: "istio-minikube",
            stack: "cluster",
            preflight: () => undefined,
            listContexts: () => ["staging"],
            kubectl: (args) => {
                asked.push(args[1]);
                return args.includes("--output=json") ? '{"items":[]}' : "";
            },
        });
        expect(result).toEqual({ existingIstio: "clear" });
        expect(asked[0]).toBe("namespaces");
    });

    test("without KUBECONFIG, the file named is ~/.kube/config; an empty kubeconfig says so", () => {
        expect(kubeconfigFiles({ HOME: "/home/tester" })).toEqual(["/home/tester/.kube/config"]);
        expect(missingContextMessage("staging", ["/home/tester/.kube/config"], [])).toContain("is not in /home/tester/.kube/config (nothing was changed). There are no contexts there.");
    });
});

describe("an existing-cluster stack's first preview on a machine without the Istio release", () => {
    const { releasePreviewWarning } = require("../components/istio/istioRelease") as typeof import("../components/istio/istioRelease");
    const hasUnknown = (value: unknown) => JSON.stringify(value).includes('"[unknown]"');
    /** The components the Kubernetes provider constructs that have an unknown input: each says "Preview is incomplete". */
    const incomplete = (plan: Plan) => plan.resources.filter((r) => r.remote && hasUnknown(r.inputs)).map((r) => r.name);

    test("every chart and YAML group is read from the release `up` unpacks, so each has an unknown input; the program says why, once", async () => {
        const plan = await planFor("cluster");
        // The providers are configured (the context is known): only the release makes the charts incomplete.
        for (const provider of ofType(plan, "pulumi:providers:kubernetes")) expect(engineConfigures(provider)).toBe(true);
        expect(incomplete(plan).sort()).toEqual(plan.resources.filter((r) => r.remote).map((r) => r.name).sort());
        expect(incomplete(plan)).toEqual(expect.arrayContaining(["istio-base", "istiod", "istio-ingressgateway", "sleep-default", "bookinfo-default"]));

        const warning = releasePreviewWarning({ dryRun: true, unpacked: false, version: "1.30.3", cacheDir: "/home/me/.cache/istio-minikube/releases", explainedAlready: false });
        expect(warning).toContain("Istio 1.30.3 is not unpacked in /home/me/.cache/istio-minikube/releases yet");
        expect(warning).toContain('"Preview is incomplete" once for each of them');
        expect(warning).toContain("'pulumi up' renders and creates them all in the same run");
    });

    test("with the release unpacked (another stack, an earlier run), nothing is incomplete and nothing needs saying", async () => {
        const removeRelease = unpackedRelease();
        try {
            expect(incomplete(await planFor("cluster"))).toEqual([]);
        } finally {
            removeRelease();
        }
        expect(releasePreviewWarning({ dryRun: true, unpacked: true, version: "1.30.3", cacheDir: "/c", explainedAlready: false })).toBeUndefined();
    });

    test("not in the update itself (an `up` says it in its preview), and not twice: a minikube stack's missing-profile message explains the same charts already", () => {
        expect(releasePreviewWarning({ dryRun: false, unpacked: false, version: "1.30.3", cacheDir: "/c", explainedAlready: false })).toBeUndefined();
        expect(releasePreviewWarning({ dryRun: true, unpacked: false, version: "1.30.3", cacheDir: "/c", explainedAlready: true })).toBeUndefined();
    });
});

import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { byName, ofType, PLAN_HOME, planFor, providerOf, PROJECT_DIR } from "./helpers/plan";
import type { Plan } from "../scripts/offline-plan";

jest.setTimeout(120_000);

/** The plans several tests read as they are (nothing in this file changes HOME or PATH between them): made once. */
let devPlan: Promise<Plan> | undefined;
let clusterPlan: Promise<Plan> | undefined;
const dev = () => (devPlan ??= planFor("dev"));
const cluster = () => (clusterPlan ??= planFor("cluster"));

describe("offline plan of the dev stack", () => {
    let plan: Plan;
    beforeAll(async () => {
        plan = await dev();
    });

    test("has the minikube start command with both create and delete, and the provider waits for it", () => {
        const start = byName(plan, "minikube-start");
        expect(start.type).toBe("command:local:Command");
        expect(start.inputs.create).toBe("bash components/scripts/minikube-start.sh");
        expect(start.inputs.delete).toBe("bash components/scripts/minikube-delete.sh");
        expect(start.inputs.environment).toMatchObject({ MINIKUBE_DRIVER: "kvm2", MINIKUBE_CPUS: "4", MINIKUBE_MEMORY_MB: "8192", MINIKUBE_PROFILE: "istio-dev" });
        const provider = providerOf(plan);
        expect(provider.name).toBe("minikube");
        // Bound to the profile's context, read by the provider when it runs: no address, port or key in
        // state, so a restart on a new port changes nothing; replaced only for a new cluster.
        // Its identity waits for the start command's result, unknown until `up` runs it (tests/first-run.test.ts).
        expect(provider.inputs).toEqual({ context: "istio-dev", clusterIdentifier: "[unknown]", enableSecretMutable: "true", enableConfigMapMutable: "true" });
        // Stored in the provider's config, it would also drop every object from state on a refresh while
        // minikube is stopped; npm run destroy sets it for destroy alone.
        expect(provider.inputs).not.toHaveProperty("deleteUnreachable");
        expect(provider.dependsOn).toContain(start.urn);
    });

    test("no kubeconfig and no private key anywhere in the plan", () => {
        const json = JSON.stringify(plan);
        expect(json).not.toMatch(/BEGIN (RSA )?PRIVATE KEY/);
        expect(json).not.toMatch(/client-key-data|client-certificate-data/);
        expect(plan.resources.map((r) => r.name)).not.toContain("minikube-kubeconfig");
    });

    test("every Kubernetes resource uses the stack's provider, but the base chart, which has its adopting twin", () => {
        const provider = providerOf(plan).urn;
        expect(byName(plan, "istio-base").provider).toBe(provider.replace(/::minikube$/, "::minikube-adopting"));
        const kubernetes = plan.resources.filter((r) => r.type.startsWith("kubernetes:") && r.name !== "istio-base");
        expect(kubernetes.length).toBeGreaterThan(8);
        for (const r of kubernetes) expect({ name: r.name, provider: r.provider }).toEqual({ name: r.name, provider });
    });

    test("the release, and one preload per image with no preload waiting for another", () => {
        expect(byName(plan, "istio-release-unpack").inputs.environment).toMatchObject({ ISTIO_VERSION: "1.30.3" });
        const preloads = plan.resources.filter((r) => r.name.startsWith("preload-"));
        const images = preloads.map((r) => (r.inputs.environment as Record<string, string>).PRELOAD_IMAGE).sort();
        expect(images).toEqual(
            [
                "docker.io/curlimages/curl:8.16.0",
                "docker.io/istio/pilot:1.30.3",
                "docker.io/istio/proxyv2:1.30.3",
                // The dev stack's addons, prometheus and kiali (samples/addons at 1.30).
                "ghcr.io/prometheus-operator/prometheus-config-reloader:v0.89.0",
                "docker.io/prom/prometheus:v3.10.0",
                "quay.io/kiali/kiali:v2.26",
                ...["details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3"].map(
                    (a) => `registry.istio.io/release/examples-bookinfo-${a}:1.20.3`,
                ),
            ].sort(),
        );
        const preloadUrns = new Set(preloads.map((r) => r.urn));
        for (const p of preloads) {
            expect(p.dependsOn.filter((d) => preloadUrns.has(d))).toEqual([]);
            expect(p.dependsOn).toEqual([byName(plan, "minikube-start").urn]);
            expect(p.inputs.delete).toBe("bash components/scripts/image-remove.sh");
        }
    });

    test("base chart, then istiod after base, the Secrets and its image; PeerAuthentication after both", () => {
        const base = byName(plan, "istio-base");
        const istiod = byName(plan, "istiod");
        expect(base.type).toBe("kubernetes:helm.sh/v4:Chart");
        expect(istiod.dependsOn).toEqual(expect.arrayContaining([base.urn, byName(plan, "cacerts").urn, byName(plan, "istiod-tls").urn]));
        expect(istiod.dependsOn).toContain(byName(plan, "preload-istio/pilot:1.30.3").urn);
        expect(istiod.dependsOn).not.toContain(byName(plan, "preload-curlimages/curl:8.16.0").urn);
        expect(base.dependsOn).not.toContain(istiod.urn);
        const peer = byName(plan, "mesh-mtls");
        expect(peer.type).toBe("kubernetes:security.istio.io/v1:PeerAuthentication");
        expect(peer.dependsOn).toContain(istiod.urn);
        expect(peer.inputs).toMatchObject({ metadata: { name: "default", namespace: "istio-system" }, spec: { mtls: { mode: "STRICT" } } });
    });

    test("every webhook's caBundle is the stack's root CA, and its data stays secret in the Secrets", () => {
        const certs = byName(plan, "mesh-certificates");
        const root = certs.outputs.rootCertPem as string;
        expect(root).toMatch(/^-----BEGIN CERTIFICATE-----/);
        expect(certs.outputs.intermediateKeyPem).toBe("[secret]");
        expect(certs.outputs.servingKeyPem).toBe("[secret]");
        const webhook = byName(plan, "istio-sidecar-injector");
        const hooks = webhook.inputs.webhooks as { clientConfig: { caBundle: string } }[];
        expect(hooks).toHaveLength(4);
        for (const h of hooks) expect(Buffer.from(h.clientConfig.caBundle, "base64").toString()).toBe(root);
        expect(byName(plan, "cacerts").inputs.stringData).toBe("[secret]");
        expect(byName(plan, "istiod-tls").inputs.stringData).toBe("[secret]");
        for (const name of ["istiod-default-validator", "istio-validator-istio-system"]) {
            const validating = byName(plan, name);
            expect(validating.type).toBe("kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration");
            const [hook] = validating.inputs.webhooks as { clientConfig: { caBundle: string; service: { path: string } }; failurePolicy: string }[];
            expect(Buffer.from(hook.clientConfig.caBundle, "base64").toString()).toBe(root);
            expect(hook).toMatchObject({ failurePolicy: "Fail", clientConfig: { service: { path: "/validate" } } });
            // After istiod, and the mesh-wide policy after them: istiod validates it through this caBundle.
            expect(validating.dependsOn).toContain(byName(plan, "istiod").urn);
            expect(byName(plan, "mesh-mtls").dependsOn).toContain(validating.urn);
        }
        // The charts take nothing from the root.
        expect(JSON.stringify(byName(plan, "istiod").inputs.values)).not.toContain(Buffer.from(root).toString("base64"));
    });

    test("auto namespaces carry the injection label; default is patched, not owned", () => {
        const patch = byName(plan, "default-injection-label");
        expect(patch.type).toBe("kubernetes:core/v1:NamespacePatch");
        expect(patch.inputs.metadata).toEqual({ name: "default", labels: { "istio-injection": "enabled" } });
        // The namespaces the stack owns carry its field manager (components/fieldManager.ts); the patch of default does not.
        expect(byName(plan, "manual-inject").inputs.metadata).toEqual({ name: "manual-inject", labels: { "istio-injection": "disabled" }, annotations: { "pulumi.com/patchFieldManager": "pulumi/istio-minikube/dev" } });
        expect(byName(plan, "outside-mesh").inputs.metadata).toEqual({ name: "outside-mesh", labels: { "istio-injection": "disabled" }, annotations: { "pulumi.com/patchFieldManager": "pulumi/istio-minikube/dev" } });
    });

    test("manual namespaces get their samples through istioctl kube-inject with the local injector files", () => {
        const inject = byName(plan, "bookinfo-manual-inject-kube-inject");
        expect(inject.inputs.create).toBe("bash components/scripts/kube-inject.sh");
        expect(inject.dependsOn).toContain(byName(plan, "sidecar-injector-config").urn);
        expect(byName(plan, "bookinfo-manual-inject").dependsOn).toContain(inject.urn);
        expect(byName(plan, "bookinfo-default").dependsOn).not.toContain(inject.urn);
    });

    test("a first preview reads no path that only `pulumi up` creates: chart paths and sample manifests are unknown", () => {
        expect(byName(plan, "istio-release-unpack").outputs.stdout).toBe("[unknown]");
        expect(byName(plan, "istio-base").inputs.chart).toBe("[unknown]");
        expect(byName(plan, "istiod").inputs.chart).toBe("[unknown]");
        for (const group of ofType(plan, "kubernetes:yaml/v2:ConfigGroup")) expect(group.inputs.yaml).toBe("[unknown]");
    });

    test("the checks wait for the samples and the control plane", () => {
        const checks = plan.resources.filter((r) => r.name.startsWith("check-"));
        expect(checks.map((c) => c.name)).toEqual([
            "check-control-plane-ready",
            "check-mtls-mode",
            "check-sidecars-injected",
            "check-curl-with-certificates",
            "check-curl-without-certificates",
            "check-plaintext-from-outside",
            "check-ingress-productpage",
        ]);
        const samples = ofType(plan, "kubernetes:yaml/v2:ConfigGroup")
            .filter((r) => !r.name.startsWith("addon-"))
            .map((r) => r.urn);
        for (const c of checks) {
            expect(c.dependsOn).toEqual(
                expect.arrayContaining([...samples, byName(plan, "mesh-mtls").urn, byName(plan, "istio-ingressgateway").urn]),
            );
        }
    });
});

describe("ingress gateway, bookinfo's routes and the dashboards", () => {
    let plan: Plan;
    beforeAll(async () => {
        plan = await dev();
    });
    const env = (name: string, p: Plan = plan) => byName(p, name).inputs.environment as Record<string, string>;

    test("the gateway chart goes into istio-ingress, owned by the stack, injected by the program's webhook", () => {
        const namespace = byName(plan, "istio-ingress");
        expect(namespace.inputs.metadata).toEqual({ name: "istio-ingress", labels: { "istio-minikube/stack": "istio-minikube.dev" }, annotations: { "pulumi.com/patchFieldManager": "pulumi/istio-minikube/dev" } });
        const chart = byName(plan, "istio-ingressgateway");
        expect(chart.type).toBe("kubernetes:helm.sh/v4:Chart");
        expect(chart.inputs).toMatchObject({ name: "istio-ingressgateway", namespace: "istio-ingress" });
        // The webhook, its config and istiod must serve /inject when the gateway pod is created; its proxy image is in place.
        for (const before of ["istio-ingress", "istio-sidecar-injector", "sidecar-injector-config", "istiod", "preload-istio/proxyv2:1.30.3"]) {
            expect(chart.dependsOn).toContain(byName(plan, before).urn);
        }
    });

    test("the gateway's values: a node port on dev, the demo profile's ports, one replica that rolls with new certificates", () => {
        const values = byName(plan, "istio-ingressgateway").inputs.values as Record<string, any>;
        expect(values.service.type).toBe("NodePort");
        expect(values.service.annotations).toEqual({});
        expect(values.service.ports).toContainEqual({ name: "http2", port: 80, protocol: "TCP", targetPort: 8080 });
        expect(values).toMatchObject({ replicaCount: 1, autoscaling: { enabled: false } });
        const istiodAnnotations = (byName(plan, "istiod").inputs.values as Record<string, any>).pilot.podAnnotations;
        expect(values.podAnnotations).toEqual(istiodAnnotations);
    });

    test("bookinfo's Gateway and VirtualService go into bookinfo's namespace once istiod validates them", () => {
        const routes = byName(plan, "bookinfo-gateway-default");
        for (const before of ["default-injection-label", "istiod", "istiod-default-validator", "istio-validator-istio-system", "istio-release-unpack"]) {
            expect(routes.dependsOn).toContain(byName(plan, before).urn);
        }
    });

    test("bookinfoUrl is asked of minikube once the gateway's Service exists, again only for a new cluster or service type", () => {
        const url = byName(plan, "bookinfo-url");
        expect(url.inputs.create).toBe("bash components/scripts/ingress-url.sh");
        expect(url.inputs.update).toBeUndefined();
        expect(env("bookinfo-url")).toEqual({
            KUBE_CONTEXT: "istio-dev",
            GATEWAY_NAMESPACE: "istio-ingress",
            GATEWAY_SERVICE: "istio-ingressgateway",
            GATEWAY_SERVICE_TYPE: "NodePort",
            MINIKUBE_PROFILE: "istio-dev",
            INGRESS_URL_PENDING: "report",
        });
        expect(url.inputs.triggers).toEqual([providerOf(plan).inputs.clusterIdentifier, "NodePort"]);
        expect(url.dependsOn).toContain(byName(plan, "istio-ingressgateway").urn);
    });

    test("the product page check looks where bookinfoUrl does, for the page's title", () => {
        const { INGRESS_URL_PENDING, ...urlEnv } = env("bookinfo-url");
        expect(INGRESS_URL_PENDING).toBe("report");
        expect(env("check-ingress-productpage")).toMatchObject({ ...urlEnv, EXPECTED_TITLE: "Simple Bookstore App", CHECK_NAME: "ingress-productpage" });
        expect(env("check-ingress-productpage")).not.toHaveProperty("INGRESS_URL_PENDING");
    });

    test("dev's dashboards: one group per addon in istio-system, after its images, not in the chain to the checks", () => {
        const groups = ofType(plan, "kubernetes:yaml/v2:ConfigGroup").filter((r) => r.name.startsWith("addon-"));
        expect(groups.map((g) => g.name)).toEqual(["addon-prometheus", "addon-kiali"]);
        expect(byName(plan, "addon-kiali").dependsOn).toEqual(
            expect.arrayContaining([byName(plan, "istio-system").urn, byName(plan, "preload-quay.io/kiali/kiali:v2.26").urn]),
        );
        const checks = plan.resources.filter((r) => r.name.startsWith("check-"));
        for (const c of checks) for (const g of groups) expect(c.dependsOn).not.toContain(g.urn);
    });

    test("the cluster stack: a LoadBalancer the update does not wait on, found from the cluster, and no dashboards", async () => {
        const plan = await cluster();
        const values = byName(plan, "istio-ingressgateway").inputs.values as Record<string, any>;
        expect(values.service).toMatchObject({ type: "LoadBalancer", annotations: { "pulumi.com/skipAwait": "true" } });
        expect(env("bookinfo-url", plan)).toMatchObject({ GATEWAY_SERVICE_TYPE: "LoadBalancer", MINIKUBE_PROFILE: "", KUBE_CONTEXT: "my-cluster" });
        expect(plan.resources.filter((r) => r.name.startsWith("addon-"))).toEqual([]);
    });

    test("gateway.enabled=false: no gateway, no routes, no URL, no product page check", async () => {
        const off = await planFor("dev", ["gateway.enabled=false"]);
        const names = off.resources.map((r) => r.name);
        for (const gone of ["istio-ingress", "istio-ingressgateway", "bookinfo-gateway-default", "bookinfo-url", "check-ingress-productpage"]) {
            expect(names).not.toContain(gone);
        }
        expect(names).toContain("check-plaintext-from-outside");
    });

    test("addons=[grafana,jaeger] preloads exactly their images", async () => {
        const other = await planFor("dev", ["addons[0]=grafana", "addons[1]=jaeger"]);
        const groups = other.resources.filter((r) => r.name.startsWith("addon-")).map((r) => r.name);
        expect(groups).toEqual(["addon-grafana", "addon-jaeger"]);
        const images = other.resources.filter((r) => r.name.startsWith("preload-")).map((r) => (r.inputs.environment as Record<string, string>).PRELOAD_IMAGE);
        expect(images).toEqual(expect.arrayContaining(["docker.io/grafana/grafana:12.0.1", "docker.io/jaegertracing/jaeger:2.14.0"]));
        expect(images).not.toContain("quay.io/kiali/kiali:v2.26");
    });
});

describe("offline plan options", () => {
    test("the cluster stack has no minikube resources and a provider bound to its context", async () => {
        const plan = await cluster();
        const minikubeThings = plan.resources.filter(
            (r) => r.type === "istio-minikube:cluster:MinikubeCluster" || r.type === "istio-minikube:images:ImagePreload" || /^(minikube|preload)-/.test(r.name),
        );
        expect(minikubeThings.map((r) => r.name)).toEqual([]);
        expect(plan.resources.filter((r) => r.type === "command:local:Command").map((r) => r.name)).not.toContain("minikube-start");
        const providers = ofType(plan, "pulumi:providers:kubernetes");
        expect(providers.map((p) => p.name).sort()).toEqual(["cluster", "cluster-adopting"]);
        for (const provider of providers) expect(provider.inputs).toMatchObject({ context: "my-cluster", clusterIdentifier: "context/my-cluster" });
    });

    test("with the release already unpacked, charts render from its known path and still wait for the unpack", async () => {
        const release = path.join(PLAN_HOME, ".cache", "istio-minikube", "releases", "istio-1.29.6");
        fs.mkdirSync(path.join(release, "manifests", "charts", "base"), { recursive: true });
        fs.mkdirSync(path.join(release, "manifests", "charts", "istio-control", "istio-discovery"), { recursive: true });
        fs.writeFileSync(path.join(release, ".istio-minikube-complete"), "sha\n");
        try {
            const plan = await planFor("dev", ["istio.version=1.29.6"]);
            const unpack = byName(plan, "istio-release-unpack").urn;
            expect(byName(plan, "istio-base").inputs.chart).toBe(path.join(release, "manifests", "charts", "base"));
            expect(byName(plan, "istiod").inputs.chart).toBe(path.join(release, "manifests", "charts", "istio-control", "istio-discovery"));
            expect(byName(plan, "istio-base").dependsOn).toContain(unpack);
            expect(byName(plan, "istiod").dependsOn).toContain(unpack);
        } finally {
            fs.rmSync(release, { recursive: true, force: true });
        }
    });

    test("--config istio.mtls=PERMISSIVE changes the mode, and the checks follow", async () => {
        const plan = await planFor("dev", ["istio.mtls=PERMISSIVE"]);
        expect(byName(plan, "mesh-mtls").inputs.spec).toEqual({ mtls: { mode: "PERMISSIVE" } });
        expect((byName(plan, "check-mtls-mode").inputs.environment as Record<string, string>).EXPECTED_MTLS).toBe("PERMISSIVE");
    });

    test("two evaluations give the same triggers: no clock or random value outside the certificates", async () => {
        const [a, b] = [await planFor("dev"), await planFor("dev")];
        const triggers = (p: Plan) =>
            p.resources.filter((r) => r.type === "command:local:Command").map((r) => ({ name: r.name, triggers: r.inputs.triggers, env: r.inputs.environment }));
        expect(triggers(a)).toEqual(triggers(b));
        // Everything else is equal once the generated root certificate (the one random value, kept in
        // the certificate resource's state in a real stack) and what derives from it are placeholders.
        const normalized = (p: Plan) => {
            const root = byName(p, "mesh-certificates").outputs.rootCertPem as string;
            const caBundle = Buffer.from(root).toString("base64");
            let text = JSON.stringify(p.resources.filter((r) => r.name !== "mesh-certificates").map((r) => r.inputs));
            for (const derived of [JSON.stringify(root).slice(1, -1), caBundle]) text = text.split(derived).join("<root>");
            return text;
        };
        expect(normalized(a)).toEqual(normalized(b));
        expect(normalized(a)).toContain("<root>");
    });
});

describe("npm run plan", () => {
    const tsx = path.join(PROJECT_DIR, "node_modules", ".bin", "tsx");

    test("--json writes the documented shape with secrets as [secret]", () => {
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plan-")), "plan.json");
        const stdout = execFileSync(tsx, ["scripts/plan.ts", "--stack", "dev", "--json", out], { cwd: PROJECT_DIR, encoding: "utf8" });
        expect(stdout).toMatch(/^Offline plan for istio-minikube\/dev: \d+ resources/);
        expect(stdout).toMatch(/minikube-start \(command:local:Command\)/);
        const json = JSON.parse(fs.readFileSync(out, "utf8"));
        expect(json.project).toBe("istio-minikube");
        expect(json.stack).toBe("dev");
        for (const r of json.resources) {
            expect(Object.keys(r)).toEqual(expect.arrayContaining(["urn", "type", "name", "parent", "dependsOn", "inputs", "outputs"]));
        }
        expect(JSON.stringify(json)).toContain('"[secret]"');
        expect(JSON.stringify(json)).not.toMatch(/PRIVATE KEY/);
    });

    test("a bad --config exits non-zero naming the key, the value and what is allowed; nothing is planned", () => {
        const result = spawnSync(tsx, ["scripts/plan.ts", "--stack", "dev", "--config", "minikube.cpus=1", "--config", "minikube.profile=x;reboot"], {
            cwd: PROJECT_DIR,
            encoding: "utf8",
        });
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain("istio-minikube:minikube.cpus = 1 is not allowed: expected a whole number from 2 to 64");
        expect(result.stderr).toContain('istio-minikube:minikube.profile = "x;reboot" is not allowed');
        expect(result.stdout).not.toContain("Offline plan for");
    });

    test("an unknown stack names the stacks there are", () => {
        const result = spawnSync(tsx, ["scripts/plan.ts", "--stack", "nope"], { cwd: PROJECT_DIR, encoding: "utf8" });
        expect(result.status).not.toBe(0);
        expect(result.stderr).toMatch(/No stack file Pulumi\.nope\.yaml; the stacks are: .*cluster.*dev/);
    });
});

describe("docs/architecture.md", () => {
    const architecture = fs.readFileSync(path.join(PROJECT_DIR, "docs", "architecture.md"), "utf8");

    test("its resource graph is the one the dev plan gives (run `npm run plan -- --stack dev --mermaid FILE` to refresh)", async () => {
        const { renderMermaid } = require("../scripts/plan-render") as typeof import("../scripts/plan-render");
        const plan = await dev();
        const block = /<!-- graph:dev:start -->\n```mermaid\n([\s\S]*?)```\n<!-- graph:dev:end -->/.exec(architecture);
        expect(block).not.toBeNull();
        expect(block![1]).toBe(renderMermaid(plan));
    });
});

describe("docs/configuration.md", () => {
    const configuration = fs.readFileSync(path.join(PROJECT_DIR, "docs", "configuration.md"), "utf8");

    test("its configuration table names every key", () => {
        const { CONFIG_KEYS } = require("../components/config") as typeof import("../components/config");
        for (const key of CONFIG_KEYS) expect(configuration).toMatch(new RegExp(`\\| \`${key}(\\.[a-zA-Z]+)?\` \\|`));
    });
});

// The ingress gateway, bookinfo's URL and the dashboards, apart from the plan (tests/plan.test.ts has the
// resources): the gateway's chart values, the addon manifests' preparation, the URL script against fake
// `minikube` and `kubectl` answering as they would, the product page check with the REAL curl against an
// HTTP server on 127.0.0.1, and `npm run dashboard` against fake `pulumi` and `istioctl`.
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import * as YAML from "yaml";
import { Service } from "kubernetes-models/v1";
// @kubernetes-models/istio 2.3.0 has networking v1beta1, whose schema Istio serves unchanged as v1
// (manifests/charts/base/files/crd-all.gen.yaml: the versions share one openAPIV3Schema).
import { Gateway, VirtualService } from "@kubernetes-models/istio/networking.istio.io/v1beta1";
import { defaultSettings, parseSettings } from "../components/config";
import { gatewayChartValues, GATEWAY_READY_TIMEOUT_SECONDS } from "../components/istio/chartValues";
import { addonImages } from "../components/istio/versions";
import { prepareAddonObjects, prepareSampleObjects } from "../components/mesh/sampleManifests";
import { ingressUrlEnvironment } from "../components/mesh/bookinfoIngress";
import { CheckSpec, ingressOf, PRODUCTPAGE_TITLE, verificationChecks } from "../components/verify/verification";
import { createFakeBin, FakeBin, RunResult } from "./helpers/fakeBin";
import { runScriptAsync } from "./helpers/scriptRunner";

const ROOT = path.join(__dirname, "..");
const URL_SCRIPT = path.join(ROOT, "components", "scripts", "ingress-url.sh");
const CONTEXT = "istio-lab";
const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "fixtures", name), "utf8");

describe("gateway chart values", () => {
    test.each(["NodePort", "LoadBalancer"] as const)("%s: the Service is valid, port 80 reaches the 8080 bookinfo's Gateway listens on", (serviceType) => {
        const values = gatewayChartValues({ serviceType, certificates: "abc" }) as Record<string, any>;
        // What templates/service.yaml makes of them: the type and the ports as given.
        const service = new Service({
            metadata: { name: "istio-ingressgateway", namespace: "istio-ingress", annotations: { ...values.service.annotations, ...values.annotations } },
            spec: { type: values.service.type, ports: values.service.ports, selector: { app: "istio-ingressgateway", istio: "ingressgateway" } },
        });
        expect(() => service.validate()).not.toThrow();
        const gateway = YAML.parse(fixture("gateway-routes.yaml").split("---")[0]);
        const listening = gateway.spec.servers[0].port.number;
        expect(values.service.ports.find((p: { port: number }) => p.port === 80).targetPort).toBe(listening);
        expect(values.annotations).toEqual({ "pulumi.com/timeoutSeconds": String(GATEWAY_READY_TIMEOUT_SECONDS) });
    });

    test("only a LoadBalancer skips the Service's wait for an address minikube gives only under `minikube tunnel`", () => {
        expect((gatewayChartValues({ serviceType: "LoadBalancer", certificates: "a" }) as any).service.annotations).toEqual({ "pulumi.com/skipAwait": "true" });
        expect((gatewayChartValues({ serviceType: "NodePort", certificates: "a" }) as any).service.annotations).toEqual({});
    });

    test("new certificates change the gateway's pod template, so its proxy gets certificates from the new root", () => {
        const a = gatewayChartValues({ serviceType: "NodePort", certificates: "one" }) as any;
        const b = gatewayChartValues({ serviceType: "NodePort", certificates: "two" }) as any;
        expect(a.podAnnotations).not.toEqual(b.podAnnotations);
        // The chart's own injection annotation (inject.istio.io/templates: gateway) is merged, not replaced:
        // these values never name it.
        expect(Object.keys(a.podAnnotations)).toEqual(["istio-minikube/certificates"]);
    });
});

describe("bookinfo's routes and the addons' manifests", () => {
    test("the routes land in bookinfo's namespace and validate as Istio's networking/v1 objects", () => {
        const objects = prepareSampleObjects(fixture("gateway-routes.yaml"), { namespace: "team-a" });
        expect(objects.map((o) => [o.kind, o.metadata!.namespace])).toEqual([
            ["Gateway", "team-a"],
            ["VirtualService", "team-a"],
        ]);
        const asV1beta1 = (o: object) => ({ ...o, apiVersion: "networking.istio.io/v1beta1" }) as any;
        expect(() => new Gateway(asV1beta1(objects[0])).validate()).not.toThrow();
        expect(() => new VirtualService(asV1beta1(objects[1])).validate()).not.toThrow();
    });

    test("an addon's objects keep the release's namespaces (none on cluster-scoped ones); only Deployments get the readiness bound", () => {
        const objects = prepareAddonObjects(fixture("addon.yaml"));
        expect(objects.map((o) => [o.kind, o.metadata!.namespace])).toEqual([
            ["ServiceAccount", "istio-system"],
            ["ClusterRole", undefined],
            ["Deployment", "istio-system"],
        ]);
        expect(objects[2].metadata!.annotations).toEqual({ "pulumi.com/timeoutSeconds": "300" });
        expect(objects[0].metadata!.annotations).toBeUndefined();
        expect(YAML.stringify(objects[1])).toBe(YAML.stringify(YAML.parseAllDocuments(fixture("addon.yaml"))[1].toJS()));
    });

    test("every addon has pinned images from a registry, by name and tag", () => {
        for (const addon of ["prometheus", "kiali", "grafana", "jaeger"] as const) {
            const images = addonImages("1.30.3", addon);
            expect(images.length).toBeGreaterThan(0);
            for (const image of images) expect(image).toMatch(/^[a-z0-9.-]+\.[a-z]+\/[a-z0-9/._-]+:[A-Za-z0-9._-]+$/);
        }
    });
});

describe("ingressOf", () => {
    const ENV = { homeDir: "/home/u", projectDir: ROOT };
    test("minikube: the profile, so the URL uses `minikube ip`; an existing cluster: none", () => {
        expect(ingressOf(parseSettings({}, "dev", ENV))).toEqual({ serviceType: "NodePort", minikubeProfile: "istio-dev" });
        const existing = parseSettings({ "istio-minikube:cluster": "existing", "istio-minikube:kubeContext": "lab" }, "lab", ENV);
        expect(ingressOf(existing)).toEqual({ serviceType: "NodePort", minikubeProfile: undefined });
    });

    test("no gateway, no bookinfo or no mesh namespace: nothing to reach, no product page check", () => {
        const base = defaultSettings("dev");
        const settings = (patch: object) => ({ ...parseSettings({}, "dev", ENV), ...patch });
        expect(ingressOf(settings({ gateway: { ...base.gateway, enabled: false } }))).toBeUndefined();
        expect(ingressOf(settings({ samples: ["sleep"] }))).toBeUndefined();
        expect(ingressOf(settings({ injection: { auto: [], manual: [] } }))).toBeUndefined();
        const checks = verificationChecks({ kubeContext: "c", mtls: "STRICT", injectedNamespaces: ["default"], samples: ["sleep", "bookinfo"], bookinfoNamespace: "default" });
        expect(checks.map((c) => c.name)).not.toContain("ingress-productpage");
    });
});

// kubectl as ingress-url.sh calls it: --context=C [--namespace=N] get service NAME|nodes --output=jsonpath=...
//   the http2 nodePort from $FAKE_STATE/nodeport, the load balancer's "ip hostname" from lb, node addresses
//   from external-ip and internal-ip; a file KEY.err makes that call fail with its text.
const KUBECTL = `
ctx=""; ns=""; rest=()
for a in "$@"; do
    case $a in
        --context=*) ctx=\${a#--context=} ;;
        --namespace=*) ns=\${a#--namespace=} ;;
        *) rest+=("$a") ;;
    esac
done
[ "$ctx" = ${CONTEXT} ] || { echo "fake kubectl: wrong context '$ctx'" >&2; exit 97; }
answer() {
    if [ -f "$FAKE_STATE/$1.err" ]; then cat "$FAKE_STATE/$1.err" >&2; exit 1; fi
    [ -f "$FAKE_STATE/$1" ] && cat "$FAKE_STATE/$1"
    exit 0
}
case "\${rest[*]}" in
    "get service istio-ingressgateway --output=jsonpath="*nodePort*) [ "$ns" = istio-ingress ] || exit 98; answer nodeport ;;
    "get service istio-ingressgateway --output=jsonpath="*loadBalancer*) [ "$ns" = istio-ingress ] || exit 98; answer lb ;;
    "get nodes --output=jsonpath="*ExternalIP*) answer external-ip ;;
    "get nodes --output=jsonpath="*InternalIP*) answer internal-ip ;;
    *) echo "fake kubectl: unexpected: $*" >&2; exit 99 ;;
esac
`;
// minikube ip --profile=P: prints $FAKE_STATE/minikube-ip; minikube-ip.err fails.
const MINIKUBE = `
[ "$1" = ip ] && [ "$2" = --profile=istio-lab ] || { echo "fake minikube: unexpected: $*" >&2; exit 99; }
if [ -f "$FAKE_STATE/minikube-ip.err" ]; then cat "$FAKE_STATE/minikube-ip.err" >&2; exit 1; fi
cat "$FAKE_STATE/minikube-ip"
`;

let bin: FakeBin;
beforeEach(() => {
    bin = createFakeBin({ kubectl: KUBECTL, minikube: MINIKUBE });
});
afterEach(() => bin.cleanup());
const state = (name: string, text: string) => fs.writeFileSync(path.join(bin.stateDir, name), text);

function url(env: Record<string, string>): Promise<RunResult> {
    return runScriptAsync(URL_SCRIPT, { fakeBin: bin, env, cwd: ROOT });
}
const onMinikube = (type: "NodePort" | "LoadBalancer" = "NodePort") => ingressUrlEnvironment({ kubeContext: CONTEXT, serviceType: type, minikubeProfile: CONTEXT });
const onExisting = (type: "NodePort" | "LoadBalancer" = "NodePort") => ingressUrlEnvironment({ kubeContext: CONTEXT, serviceType: type });

describe("ingress-url.sh", () => {
    test("NodePort on minikube: minikube's address for the profile and the http2 node port", async () => {
        state("nodeport", "31380");
        state("minikube-ip", "192.168.49.2\n");
        const result = await url(onMinikube());
        expect(result).toMatchObject({ code: 0, stdout: "http://192.168.49.2:31380/productpage\n" });
        expect(bin.callsOf("minikube")).toEqual([["ip", "--profile=istio-lab"]]);
    });

    test("NodePort on an existing cluster: the first node's ExternalIP, else its InternalIP; minikube is never asked", async () => {
        state("nodeport", "30080");
        state("external-ip", "203.0.113.7 203.0.113.8");
        expect((await url(onExisting())).stdout).toBe("http://203.0.113.7:30080/productpage\n");
        state("external-ip", "");
        state("internal-ip", "10.0.0.4");
        expect((await url(onExisting())).stdout).toBe("http://10.0.0.4:30080/productpage\n");
        state("internal-ip", "fd00::4");
        expect((await url(onExisting())).stdout).toBe("http://[fd00::4]:30080/productpage\n");
        expect(bin.callsOf("minikube")).toEqual([]);
    });

    test("a Service without a node port, or minikube failing, is an error that says which", async () => {
        state("nodeport", "");
        state("minikube-ip", "192.168.49.2");
        let result = await url(onMinikube());
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("Service istio-ingress/istio-ingressgateway has no node port for its http2 port");
        state("nodeport", "31380");
        state("minikube-ip.err", "X Exiting due to GUEST_STATUS: profile not found");
        result = await url(onMinikube());
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("minikube ip --profile=istio-lab failed");
        expect(result.stdout).toBe("");
    });

    test("an address that is not one (a hostile answer) is refused, never printed as a URL", async () => {
        state("nodeport", "31380");
        state("minikube-ip", "1.2.3.4/$(reboot)");
        const result = await url(onMinikube());
        expect(result.code).toBe(1);
        expect(result.stdout).toBe("");
        expect(result.stderr).toContain("no node address");
    });

    test("LoadBalancer: the address in the Service's status on port 80, ip or hostname", async () => {
        state("lb", "198.51.100.10 ");
        expect((await url(onExisting("LoadBalancer"))).stdout).toBe("http://198.51.100.10/productpage\n");
        state("lb", " lb.example.com");
        expect((await url(onExisting("LoadBalancer"))).stdout).toBe("http://lb.example.com/productpage\n");
    });

    test("LoadBalancer without an address: the output says how to get one (minikube tunnel); the check's call exits 3 to retry", async () => {
        state("lb", " ");
        const reported = await url({ ...onMinikube("LoadBalancer"), INGRESS_URL_PENDING: "report" });
        expect(reported.code).toBe(0);
        expect(reported.stdout).toMatch(/^pending: Service istio-ingress\/istio-ingressgateway has no load balancer address yet; run 'minikube tunnel --profile=istio-lab'/);
        const existing = await url({ ...onExisting("LoadBalancer"), INGRESS_URL_PENDING: "report" });
        expect(existing.stdout).toContain("set gateway.serviceType NodePort");
        const retried = await url(onMinikube("LoadBalancer"));
        expect(retried.code).toBe(3);
        expect(retried.stdout).toBe("");
    });

    test("kubectl failing names the Service and the context", async () => {
        state("nodeport.err", "error: the server doesn't have a resource type");
        const result = await url(onMinikube());
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("could not read Service istio-ingress/istio-ingressgateway (kubectl --context=istio-lab)");
    });
});

describe("check-ingress-productpage.sh, with the real curl against 127.0.0.1", () => {
    let server: http.Server;
    let port: number;
    let answer: { status: number; body: string };
    let requests: string[];
    beforeAll(async () => {
        server = http.createServer((req, res) => {
            requests.push(req.url ?? "");
            res.writeHead(answer.status, { "content-type": "text/html" }).end(answer.body);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        port = (server.address() as net.AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
    beforeEach(() => {
        requests = [];
        answer = { status: 200, body: `<html><head><title>${PRODUCTPAGE_TITLE}</title></head></html>` };
        state("nodeport", String(port));
        state("minikube-ip", "127.0.0.1");
    });

    function check(): CheckSpec {
        const checks = verificationChecks({
            kubeContext: CONTEXT,
            mtls: "STRICT",
            injectedNamespaces: ["default"],
            samples: ["bookinfo"],
            bookinfoNamespace: "default",
            ingress: { serviceType: "NodePort", minikubeProfile: CONTEXT },
            attempts: 2,
            delaySeconds: 0,
        });
        return checks.find((c) => c.name === "ingress-productpage")!;
    }
    const run = () => runScriptAsync(path.join(ROOT, check().script), { fakeBin: bin, env: check().environment, cwd: ROOT, timeout: 30000 });

    test("HTTP 200 with the product page's title passes, naming the URL", async () => {
        const result = await run();
        expect(result.code).toBe(0);
        expect(JSON.parse(result.stdout)).toEqual({
            check: "ingress-productpage",
            status: "pass",
            detail: `http://127.0.0.1:${port}/productpage answered HTTP 200 with '${PRODUCTPAGE_TITLE}'`,
        });
        expect(requests).toEqual(["/productpage"]);
    });

    test("a 404 (no route yet) fails after the bounded attempts, saying what answered", async () => {
        answer = { status: 404, body: "" };
        const result = await run();
        expect(result.code).toBe(1);
        expect(result.stderr).toContain('Check "ingress-productpage" failed after 2 attempt(s).');
        expect(result.stderr).toContain(`seen:     http://127.0.0.1:${port}/productpage answered HTTP 404`);
        expect(requests).toHaveLength(2);
    });

    test("a 200 that is not the product page fails", async () => {
        answer = { status: 200, body: "<title>Welcome to nginx!</title>" };
        const result = await run();
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`answered HTTP 200 without the title '${PRODUCTPAGE_TITLE}'`);
    });

    test("nothing listening: the failure names the URL that did not answer", async () => {
        const closed = net.createServer();
        await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
        const unused = (closed.address() as net.AddressInfo).port;
        await new Promise<void>((resolve) => closed.close(() => resolve()));
        state("nodeport", String(unused));
        const result = await run();
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(new RegExp(`seen: +http://127\\.0\\.0\\.1:${unused}/productpage did not answer \\(curl exit 7`));
    });

    test("no URL (minikube down) fails saying so, and curl is never run", async () => {
        state("minikube-ip.err", "profile not found");
        const result = await run();
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("seen:     no URL for the gateway: minikube ip --profile=istio-lab failed");
        expect(requests).toEqual([]);
    });
});

describe("npm run dashboard (scripts/dashboard.sh), against fake pulumi and istioctl", () => {
    const DASHBOARD = path.join(ROOT, "scripts", "dashboard.sh");
    let releaseDir: string;
    beforeEach(() => {
        releaseDir = path.join(bin.workDir, "istio-1.30.3");
        fs.mkdirSync(path.join(releaseDir, "bin"), { recursive: true });
        // The release's istioctl, faked: it records its arguments in FakeBin's call log and exits 0. Moved
        // off PATH, so only the release's own can be the one that runs.
        bin.add("istioctl");
        fs.renameSync(path.join(bin.dir, "istioctl"), path.join(releaseDir, "bin", "istioctl"));
        bin.add("pulumi", `
[ "$*" = "stack output --json --stack $(cat "$FAKE_STATE/stack")" ] || { echo "fake pulumi: unexpected: $*" >&2; exit 99; }
[ -f "$FAKE_STATE/outputs.err" ] && { cat "$FAKE_STATE/outputs.err" >&2; exit 255; }
cat "$FAKE_STATE/outputs"`);
        state("stack", "dev");
    });
    const outputs = (o: object) => state("outputs", JSON.stringify(o));
    const dashboard = (...args: string[]) => runScriptAsync(DASHBOARD, { fakeBin: bin, args, cwd: ROOT, systemPath: `${path.dirname(process.execPath)}:/usr/bin:/bin` });

    test("opens the addon through the release's istioctl on the stack's context, flags passed through", async () => {
        outputs({ dashboards: ["prometheus", "kiali"], kubeContext: "istio-dev", istioReleaseDir: releaseDir });
        const result = await dashboard("kiali", "--port", "20002", "--browser=false");
        expect(result.stderr).toContain("Opening kiali of stack 'dev' (kubectl context istio-dev)");
        expect(result.code).toBe(0);
        expect(bin.callsOf("istioctl")).toEqual([["dashboard", "kiali", "--context", "istio-dev", "--namespace", "istio-system", "--port", "20002", "--browser=false"]]);
    });

    test("--stack picks another stack's outputs", async () => {
        state("stack", "lab_1");
        outputs({ dashboards: ["grafana"], kubeContext: "lab", istioReleaseDir: releaseDir });
        const result = await dashboard("grafana", "--stack", "lab_1");
        expect(result.code).toBe(0);
        expect(bin.callsOf("istioctl")[0].slice(0, 4)).toEqual(["dashboard", "grafana", "--context", "lab"]);
    });

    test("an addon the stack does not install is refused, naming its addons and how to add it; istioctl never runs", async () => {
        outputs({ dashboards: ["prometheus", "kiali"], kubeContext: "istio-dev", istioReleaseDir: releaseDir });
        const result = await dashboard("grafana");
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("stack 'dev' does not install grafana (its addons: prometheus kiali)");
        expect(result.stderr).toContain("pulumi config set --path 'addons[N]' grafana --stack dev");
        expect(bin.callsOf("istioctl")).toEqual([]);
        outputs({ dashboards: [], kubeContext: "istio-dev", istioReleaseDir: releaseDir });
        expect((await dashboard("kiali")).stderr).toContain("(its addons: none)");
    });

    test.each([[[]], [["zipkin"]], [["kiali; reboot"]], [["../../bin/sh"]]])("%j is not a dashboard name: refused before pulumi is asked", async (args) => {
        const result = await dashboard(...args);
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/istio-minikube: (name a dashboard|'.*' is not a dashboard).*; usage: npm run dashboard -- NAME/);
        expect(bin.callsOf("pulumi")).toEqual([]);
    });

    test("a stack that never ran `up`, or whose release cache is gone, says what to do", async () => {
        state("outputs.err", "error: no stack named 'dev' found");
        let result = await dashboard("kiali");
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("could not read the outputs of stack 'dev'");
        fs.rmSync(path.join(bin.stateDir, "outputs.err"));
        outputs({});
        result = await dashboard("kiali");
        expect(result.stderr).toContain("stack 'dev' has no kubeContext or istioReleaseDir output yet");
        outputs({ dashboards: ["kiali"], kubeContext: "istio-dev", istioReleaseDir: path.join(bin.workDir, "gone") });
        result = await dashboard("kiali");
        expect(result.stderr).toContain("bin/istioctl is missing: the release cache was removed");
    });
});

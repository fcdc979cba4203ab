// The real tier: Istio's gateway chart from the tier's release archive, rendered by Helm's own library
// (e2e/tools/helm-render) with the values components/istio/chartValues.ts gives it, and the release's own
// bookinfo-gateway.yaml and samples/addons read from the same archive. The lifecycle suites apply all of it
// through the real engine; this suite pins what the program relies on in those files.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { CERTIFICATES_ANNOTATION, gatewayChartValues } from "../components/istio/chartValues";
import { addonImages } from "../components/istio/versions";
import { ADDONS, GATEWAY_NAMESPACE } from "../components/config";
import { GATEWAY_RELEASE_NAME, GATEWAY_SERVICE_NAME } from "../components/mesh/ingressGateway";
import { BOOKINFO_GATEWAY_FILE } from "../components/mesh/bookinfoIngress";
import { ISTIO_RELEASE } from "./harness/lifecycle";
import { realTierBin, run } from "./harness/localCluster";

type K8sObject = { kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; spec?: any };

let bin: string;
let release: string;
const parse = (text: string) =>
    YAML.parseAllDocuments(text)
        .map((d) => d.toJSON() as K8sObject | null)
        .filter((o): o is K8sObject => o !== null && typeof o === "object" && "kind" in o);
const releaseFile = (...parts: string[]) => fs.readFileSync(path.join(release, ...parts), "utf8");

function renderGateway(serviceType: "NodePort" | "LoadBalancer"): K8sObject[] {
    const valuesFile = path.join(release, "..", `gateway-${serviceType}.json`);
    fs.writeFileSync(valuesFile, JSON.stringify(gatewayChartValues({ serviceType, certificates: "0123456789abcdef" })));
    const chart = path.join(release, "manifests", "charts", "gateway");
    return parse(run(path.join(bin, "helm-render"), ["-chart", chart, "-values", valuesFile, "-release", GATEWAY_RELEASE_NAME, "-namespace", GATEWAY_NAMESPACE]).stdout);
}

beforeAll(() => {
    bin = realTierBin("helm-render");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "imk-gateway-"));
    const archive = fs.readdirSync(path.join(bin, "release")).find((f) => f.endsWith(".tar.gz"))!;
    execFileSync("tar", ["-xzf", path.join(bin, "release", archive), "-C", dir]);
    release = path.join(dir, `istio-${ISTIO_RELEASE}`);
});
afterAll(() => fs.rmSync(path.dirname(release), { recursive: true, force: true }));

describe("the gateway chart with the program's values", () => {
    test("a Deployment the webhook injects with the gateway template, and the certificates annotation that rolls it", () => {
        const objects = renderGateway("NodePort");
        const deployment = objects.find((o) => o.kind === "Deployment")!;
        expect(deployment.metadata).toMatchObject({ name: GATEWAY_RELEASE_NAME, namespace: GATEWAY_NAMESPACE, annotations: { "pulumi.com/timeoutSeconds": "300" } });
        expect(deployment.spec.replicas).toBe(1);
        const template = deployment.spec.template;
        // The chart's own injection request survives the program's podAnnotations (values merge).
        expect(template.metadata.annotations).toMatchObject({ "inject.istio.io/templates": "gateway", [CERTIFICATES_ANNOTATION]: "0123456789abcdef" });
        expect(template.metadata.labels).toMatchObject({ "sidecar.istio.io/inject": "true", app: "istio-ingressgateway", istio: "ingressgateway" });
        expect(template.spec.containers.map((c: { name: string; image: string }) => [c.name, c.image])).toEqual([["istio-proxy", "auto"]]);
        expect(objects.filter((o) => o.kind === "HorizontalPodAutoscaler")).toEqual([]);
    });

    test("bookinfo's Gateway selects those pods, and the Service's port 80 goes where its server listens", () => {
        const objects = renderGateway("NodePort");
        const [gateway] = parse(releaseFile("samples", ...BOOKINFO_GATEWAY_FILE)).filter((o) => o.kind === "Gateway");
        const labels = objects.find((o) => o.kind === "Deployment")!.spec.template.metadata.labels;
        for (const [key, value] of Object.entries(gateway.spec.selector)) expect({ key, value: labels[key] }).toEqual({ key, value });
        const service = objects.find((o) => o.kind === "Service")!;
        expect(service.metadata.name).toBe(GATEWAY_SERVICE_NAME);
        expect(service.spec.type).toBe("NodePort");
        const http2 = service.spec.ports.find((p: { name: string }) => p.name === "http2");
        // istiod binds the server to the targetPort of the Service port with its number, else to the number itself.
        const listening = gateway.spec.servers[0].port.number;
        const bound = service.spec.ports.find((p: { port: number }) => p.port === listening)?.targetPort ?? listening;
        expect(http2).toMatchObject({ port: 80, targetPort: bound });
        expect(service.spec.selector).toEqual({ app: "istio-ingressgateway", istio: "ingressgateway" });
    });

    test("LoadBalancer: the Service is not awaited for an address", () => {
        const service = renderGateway("LoadBalancer").find((o) => o.kind === "Service")!;
        expect(service.spec.type).toBe("LoadBalancer");
        expect(service.metadata.annotations).toMatchObject({ "pulumi.com/skipAwait": "true", "pulumi.com/timeoutSeconds": "300" });
    });
});

describe("the release's addons", () => {
    test.each([...ADDONS])("%s: the images the program preloads are exactly the manifest's", (addon) => {
        const objects = parse(releaseFile("samples", "addons", `${addon}.yaml`));
        const images = objects
            .filter((o) => ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind))
            .flatMap((o) => [...(o.spec.template.spec.initContainers ?? []), ...o.spec.template.spec.containers].map((c: { image: string }) => c.image));
        expect(images.length).toBeGreaterThan(0);
        const canonical = (image: string) => (/^[^/]+\.[^/]+\//.test(image) ? image : `docker.io/${image.includes("/") ? image : `library/${image}`}`);
        expect([...new Set(images.map(canonical))].sort()).toEqual([...addonImages(ISTIO_RELEASE, addon)].sort());
        // Every namespaced object is in istio-system already: the program adds no namespace.
        for (const o of objects.filter((x) => x.metadata.namespace !== undefined)) expect(o.metadata.namespace).toBe("istio-system");
    });
});

// The real tier: Istio's base and istiod charts rendered by Helm's own library (helm.sh/helm/v3 v3.20.2,
// the version pulumi-kubernetes provider/go.mod requires in mid-2026, for its helm.v4.Chart) with the values components/istio/chartValues.ts gives them,
// then applied, with the program's two Secrets, to a real kube-apiserver v1.35.4.
//
// The charts come from istio.io/istio at the release-1.30 commit in e2e/tools/istio-charts.version: the
// module proxy serves no 1.30.3, so these are the nearest charts it has, not byte for byte the pinned release.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { baseChartValues, CERTIFICATES_ANNOTATION, certificatesFingerprint, istiodChartValues } from "../components/istio/chartValues";
import { base64, pluginCaSecretData, servingSecretData } from "../components/istio/istioControlPlane";
import { generateMeshCertificates, meshCertificateInputs, MeshCertificatesOutputs } from "../components/trust/meshCertificates";
import { controlPlaneImages } from "../components/istio/versions";
import { validationWebhooks, VALIDATION_WEBHOOK_LABELS, VALIDATION_WEBHOOK_NAMES } from "../components/istio/validationWebhooks";
import { LocalCluster, realTierBin, run, tail } from "./harness/localCluster";

let BIN: string;

interface K8sObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    [key: string]: unknown;
}

let cluster: LocalCluster;
let certificates: MeshCertificatesOutputs;
let baseObjects: K8sObject[];
let istiodObjects: K8sObject[];

const certificateSettings = meshCertificateInputs("real_tier", { validityDays: 365, rotation: 0 });

/** Renders a chart of the tools folder with the given values; the objects, in order. */
function render(chart: string, release: string, values: object): K8sObject[] {
    const valuesFile = path.join(cluster.dir, `${release}-values.json`);
    fs.writeFileSync(valuesFile, JSON.stringify(values));
    const rendered = run(path.join(BIN, "helm-render"), ["-chart", path.join(BIN, "charts", chart), "-values", valuesFile, "-release", release, "-namespace", "istio-system"]);
    return YAML.parseAllDocuments(rendered.stdout)
        .map((doc) => doc.toJSON() as K8sObject | null)
        .filter((o): o is K8sObject => o !== null && typeof o === "object" && "kind" in o);
}

const applyAll = (objects: object[]) =>
    cluster.kubectl(["apply", "--server-side", "--field-manager=real-tier", "-f", "-"], { input: objects.map((o) => JSON.stringify(o)).join("\n") });

const named = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

function istiodDeployment() {
    const [deployment] = named(istiodObjects, "Deployment") as unknown as {
        spec: {
            template: {
                metadata: { annotations: Record<string, string> };
                spec: {
                    containers: { name: string; image: string; imagePullPolicy: string; args: string[]; env: { name: string; value?: string }[]; volumeMounts: { name: string; mountPath: string }[] }[];
                    volumes: { name: string; secret?: { secretName: string } }[];
                };
            };
        };
    }[];
    return deployment;
}

beforeAll(async () => {
    BIN = realTierBin("helm-render");
    cluster = new LocalCluster(BIN);
    await cluster.start();
    certificates = generateMeshCertificates(certificateSettings);
    const valueInputs = { istioVersion: "1.30.3", certificates: certificatesFingerprint(certificateSettings) };
    baseObjects = render("base", "istio-base", baseChartValues());
    istiodObjects = render("istio-discovery", "istiod", istiodChartValues(valueInputs));
}, 180_000);

afterAll(async () => {
    if (cluster) await cluster.stop();
});

describe("the istiod chart, rendered by Helm with the program's values", () => {
    test("istiod serves with istiod-tls: the three serving-file flags, and the Secret mounted where they point", () => {
        const deployment = istiodDeployment();
        const [discovery] = deployment.spec.template.spec.containers;
        expect(discovery.args.slice(-3)).toEqual([
            "--tlsCertFile=/var/run/secrets/istiod/tls/tls.crt",
            "--tlsKeyFile=/var/run/secrets/istiod/tls/tls.key",
            "--caCertFile=/var/run/secrets/istiod/tls/ca.crt",
        ]);
        const mount = discovery.volumeMounts.find((m) => m.mountPath === "/var/run/secrets/istiod/tls")!;
        expect(deployment.spec.template.spec.volumes.find((v) => v.name === mount.name)?.secret?.secretName).toBe("istiod-tls");
        expect(deployment.spec.template.spec.volumes.find((v) => v.name === "cacerts")?.secret?.secretName).toBe("cacerts");
    });

    test("both caBundle patchers are off: each variable is set once, to the empty string", () => {
        const env = istiodDeployment().spec.template.spec.containers[0].env;
        for (const name of ["INJECTION_WEBHOOK_CONFIG_NAME", "VALIDATION_WEBHOOK_CONFIG_NAME"]) {
            expect(env.filter((e) => e.name === name)).toEqual([{ name, value: "" }]);
        }
    });

    test("the charts render no webhook configuration of their own: the program makes them, with its root", () => {
        expect(named([...baseObjects, ...istiodObjects], "MutatingWebhookConfiguration")).toEqual([]);
        expect(named([...baseObjects, ...istiodObjects], "ValidatingWebhookConfiguration")).toEqual([]);
    });

    test("istiod runs the preloaded image, never pulled again, and rolls on new certificates", () => {
        const deployment = istiodDeployment();
        const [discovery] = deployment.spec.template.spec.containers;
        expect(discovery.image).toBe(controlPlaneImages("1.30.3").pilot);
        expect(discovery.imagePullPolicy).toBe("IfNotPresent");
        expect(deployment.spec.template.metadata.annotations[CERTIFICATES_ANNOTATION]).toBe(certificatesFingerprint(certificateSettings));
    });
});

describe("the control plane's objects in a real API server", () => {
    test("the base chart (CRDs included), the program's Secrets and the istiod chart are all accepted", () => {
        applyAll([{ apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-system" } }]);
        applyAll(baseObjects);
        cluster.kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd/peerauthentications.security.istio.io"]);
        // As IstioControlPlane creates them (stringData; the API server checks a kubernetes.io/tls Secret's keys).
        applyAll([
            { apiVersion: "v1", kind: "Secret", metadata: { name: "cacerts", namespace: "istio-system" }, type: "Opaque", stringData: pluginCaSecretData(certificates) },
            { apiVersion: "v1", kind: "Secret", metadata: { name: "istiod-tls", namespace: "istio-system" }, type: "kubernetes.io/tls", stringData: servingSecretData(certificates) },
        ]);
        applyAll(istiodObjects);
        // As IstioControlPlane makes them: the charts' two validating webhooks, with the program's root.
        applyAll(
            Object.values(VALIDATION_WEBHOOK_NAMES).map((name) => ({
                apiVersion: "admissionregistration.k8s.io/v1",
                kind: "ValidatingWebhookConfiguration",
                metadata: { name, labels: VALIDATION_WEBHOOK_LABELS },
                webhooks: validationWebhooks(name, base64(certificates.rootCertPem)),
            })),
        );
        const stored = JSON.parse(cluster.kubectl(["get", "deployment", "istiod", "--namespace=istio-system", "-o", "json"]).stdout) as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
        expect(stored.spec.template.spec.containers[0].args).toContain("--caCertFile=/var/run/secrets/istiod/tls/ca.crt");
        const tls = JSON.parse(cluster.kubectl(["get", "secret", "istiod-tls", "--namespace=istio-system", "-o", "json"]).stdout) as { data: Record<string, string> };
        expect(Buffer.from(tls.data["ca.crt"], "base64").toString()).toBe(certificates.rootCertPem);
    });

    test("the program's PeerAuthentication (security.istio.io/v1) is served by the chart's CRD and passes through the program's validating webhook to istiod, trusted by the program's root", async () => {
        // istiod's /validate, with the program's serving certificate. The chart's Service istiod sends 443 to
        // the pod's 15017; with no kube-proxy, the API server dials the ClusterIP at 443, which is an address
        // of the namespace (the whole Service range is), so the stand-in listens there.
        const clusterIP = cluster.kubectl(["get", "service", "istiod", "--namespace=istio-system", "-o", "jsonpath={.spec.clusterIP}"]).stdout.trim();
        const calls = path.join(cluster.dir, "calls.log");
        const standin = await cluster.startStandin(certificates, clusterIP, calls);
        const peerAuthentication = { apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", metadata: { name: "default", namespace: "istio-system" }, spec: { mtls: { mode: "STRICT" } } };
        const applied = cluster.kubectl(["apply", "-f", "-"], { input: JSON.stringify(peerAuthentication), allowFail: true });
        expect(`${applied.stdout}${applied.stderr}`).toContain("peerauthentication.security.istio.io/default created");
        expect(fs.existsSync(calls) ? fs.readFileSync(calls, "utf8") : `(no calls)\n${tail(standin.logFile)}`).toContain("validate PeerAuthentication istio-system/default");
    });
});

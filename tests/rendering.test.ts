// What the program renders, checked against the Kubernetes and Istio schemas where TypeScript cannot.
import * as fs from "fs";
import * as path from "path";
import { MutatingWebhookConfiguration } from "kubernetes-models/admissionregistration.k8s.io/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { Namespace, Secret, Service } from "kubernetes-models/v1";
// The package's security.istio.io/v1 has no PeerAuthentication yet; v1beta1 carries the same spec schema
// (manifests/charts/base/files/crd-all.gen.yaml serves both at 1.30.3).
import { PeerAuthentication } from "@kubernetes-models/istio/security.istio.io/v1beta1";
import { sidecarInjectorWebhooks, injectorFiles } from "../components/mesh/sidecarInjector";
import { baseChartValues, certificatesFingerprint, istiodChartValues } from "../components/istio/chartValues";
import { OUTPUT_CERTS_ANNOTATIONS, prepareSampleObjects, READY_TIMEOUT_SECONDS, ROLL_OVERLAP_SECONDS, toManifest } from "../components/mesh/sampleManifests";
import { injectionLabels } from "../components/mesh/meshNamespaces";
import { MTLS_MODES } from "../components/config";
import { pluginCaSecretData, servingSecretData } from "../components/istio/istioControlPlane";
import { controlPlaneImages, sampleImages } from "../components/istio/versions";
import { istioPlatform, istioReleaseUrl } from "../components/istio/istioRelease";
import * as YAML from "yaml";

const CA_BUNDLE = Buffer.from("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").toString("base64");

describe("the sidecar injector webhook", () => {
    const webhooks = sidecarInjectorWebhooks(CA_BUNDLE);

    test("is a valid MutatingWebhookConfiguration", () => {
        expect(() =>
            new MutatingWebhookConfiguration({ metadata: { name: "istio-sidecar-injector" }, webhooks: webhooks as never }).validate(),
        ).not.toThrow();
    });

    test("has the four webhooks istiod's 1.30.3 chart renders for the default revision, each calling istiod /inject with our caBundle", () => {
        expect(webhooks.map((w) => w.name)).toEqual([
            "rev.namespace.sidecar-injector.istio.io",
            "rev.object.sidecar-injector.istio.io",
            "namespace.sidecar-injector.istio.io",
            "object.sidecar-injector.istio.io",
        ]);
        for (const w of webhooks) {
            expect(w).toMatchObject({
                clientConfig: { service: { name: "istiod", namespace: "istio-system", path: "/inject", port: 443 }, caBundle: CA_BUNDLE },
                sideEffects: "None",
                failurePolicy: "Fail",
                reinvocationPolicy: "Never",
                admissionReviewVersions: ["v1"],
                rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "*" }],
            });
        }
    });

    test("states every field the API server would default (admissionregistration/v1), so it stores what it is sent", () => {
        for (const w of webhooks) {
            expect(w).toMatchObject({ timeoutSeconds: 10, matchPolicy: "Equivalent" });
            for (const rule of w.rules as { scope?: string }[]) expect(rule.scope).toBe("*");
        }
    });

    test("selects pods in namespaces labelled istio-injection=enabled, unless the pod opts out", () => {
        const byLabel = webhooks.find((w) => w.name === "namespace.sidecar-injector.istio.io")!;
        expect(byLabel.namespaceSelector).toEqual({ matchExpressions: [{ key: "istio-injection", operator: "In", values: ["enabled"] }] });
        expect(byLabel.objectSelector).toEqual({ matchExpressions: [{ key: "sidecar.istio.io/inject", operator: "NotIn", values: ["false"] }] });
        expect(injectionLabels("auto")).toEqual({ "istio-injection": "enabled" });
        expect(injectionLabels("manual")).toEqual({ "istio-injection": "disabled" });
        expect(() => new Namespace({ metadata: { name: "demo", labels: injectionLabels("auto") } }).validate()).not.toThrow();
    });
});

describe("chart values", () => {
    test.each(["1.30.3", "1.29.6"])("istiod uses the preloaded images of Istio %s, and no value depends on the root", (version) => {
        const values = istiodChartValues({ istioVersion: version, certificates: "0123456789abcdef" }) as any;
        expect(values.global).toMatchObject({ hub: "docker.io/istio", tag: version, imagePullPolicy: "IfNotPresent", operatorManageWebhooks: true });
        expect(`${values.global.hub}/pilot:${values.global.tag}`).toBe(controlPlaneImages(version).pilot);
        // The chart's validating webhook is left out: the program makes it with the root (validationWebhooks.ts),
        // so a rotation's preview can still render the chart.
        expect(values.global.configValidation).toBe(false);
        expect(values.base).toBeUndefined();
        // istiod's caBundle patchers are off: the program is the one writer of every webhook's caBundle.
        expect(values.pilot.env).toEqual({ INJECTION_WEBHOOK_CONFIG_NAME: "", VALIDATION_WEBHOOK_CONFIG_NAME: "" });
        // istiod serves with istiod-tls and trusts its ca.crt, never a root it published on an earlier boot.
        expect(values.pilot.extraContainerArgs).toEqual([
            "--tlsCertFile=/var/run/secrets/istiod/tls/tls.crt",
            "--tlsKeyFile=/var/run/secrets/istiod/tls/tls.key",
            "--caCertFile=/var/run/secrets/istiod/tls/ca.crt",
        ]);
        // New certificates roll istiod.
        expect(values.pilot.podAnnotations).toEqual({ "istio-minikube/certificates": "0123456789abcdef" });
        // istiod's Deployment waits for the ConfigMaps it reads only when it starts.
        expect(values.pilot.deploymentAnnotations).toEqual({ "config.kubernetes.io/depends-on": "/namespaces/istio-system/ConfigMap/istio,/namespaces/istio-system/ConfigMap/istio-sidecar-injector" });
        expect(values.pilot.autoscaleEnabled).toBe(false);
    });

    test("base renders no validating webhook of its own (an empty defaultRevision), so it takes nothing from the root", () => {
        expect(baseChartValues()).toEqual({ defaultRevision: "" });
    });
});

describe("the certificate generation fingerprint", () => {
    const SETTINGS = { organization: "istio-minikube dev", servingDnsNames: ["istiod", "istiod.istio-system"], validityDays: 365, rotation: 0, keepPreviousRoot: true };

    test("changes with every input that makes new certificates, and with validityDays (kept in, so existing stacks keep their fingerprint); the same settings, or a key that is no setting, keep it", () => {
        const { REPLACING_INPUTS, ROTATING_INPUTS } = require("../components/trust/meshCertificates") as typeof import("../components/trust/meshCertificates");
        const base = certificatesFingerprint(SETTINGS);
        expect(base).toMatch(/^[0-9a-f]{16}$/);
        const changed = { organization: "istio-minikube prod", servingDnsNames: ["istiod"], validityDays: 30, rotation: 1, keepPreviousRoot: false, previousRootSigns: true };
        for (const key of [...REPLACING_INPUTS, ...ROTATING_INPUTS]) {
            expect(certificatesFingerprint({ ...SETTINGS, [key]: changed[key] })).not.toBe(base);
        }
        expect(certificatesFingerprint({ ...SETTINGS, validityDays: changed.validityDays })).not.toBe(base);
        expect(certificatesFingerprint({ ...SETTINGS })).toBe(base);
        expect(certificatesFingerprint({ ...SETTINGS, extra: "ignored" } as typeof SETTINGS)).toBe(base);
    });

    test("retiring the previous root rolls istiod and the samples; keeping it leaves the fingerprint a stack had before overlaps existed", () => {
        expect(certificatesFingerprint({ ...SETTINGS, keepPreviousRoot: false })).not.toBe(certificatesFingerprint(SETTINGS));
        // The fingerprint of the same settings before certificates.retired existed (no keepPreviousRoot in the hash).
        const { organization, servingDnsNames, validityDays, rotation } = SETTINGS;
        const before = require("crypto").createHash("sha256").update(JSON.stringify({ organization, servingDnsNames, validityDays, rotation })).digest("hex").slice(0, 16);
        expect(certificatesFingerprint(SETTINGS)).toBe(before);
    });

    test("the trust step and the sign step each roll istiod and the samples: the previous root signing changes it, and the newest signing is the fingerprint from before", () => {
        const trust = certificatesFingerprint({ ...SETTINGS, rotation: 1, previousRootSigns: true });
        const sign = certificatesFingerprint({ ...SETTINGS, rotation: 1, previousRootSigns: false });
        expect(new Set([certificatesFingerprint(SETTINGS), trust, sign]).size).toBe(3);
        expect(sign).toBe(certificatesFingerprint({ ...SETTINGS, rotation: 1 }));
    });
});

describe("the mesh-wide PeerAuthentication", () => {
    test.each(MTLS_MODES)("mode %s is valid against Istio's schema", (mode) => {
        expect(() => new PeerAuthentication({ metadata: { name: "default", namespace: "istio-system" }, spec: { mtls: { mode } } }).validate()).not.toThrow();
    });

    test("an unknown mode would be rejected by the schema (so the config allow-list matters)", () => {
        expect(() => new PeerAuthentication({ metadata: { name: "default" }, spec: { mtls: { mode: "MUTUAL_TLS" as never } } }).validate()).toThrow(/allowed values/);
    });
});

describe("the certificate Secrets", () => {
    test("are valid Secrets with Istio's and Kubernetes' key names", () => {
        const certs = { intermediateCertPem: "a", intermediateKeyPem: "b", trustBundlePem: "c", certChainPem: "d", servingCertPem: "e", servingKeyPem: "f" };
        expect(() => new Secret({ metadata: { name: "cacerts", namespace: "istio-system" }, type: "Opaque", stringData: pluginCaSecretData(certs) }).validate()).not.toThrow();
        expect(() => new Secret({ metadata: { name: "istiod-tls", namespace: "istio-system" }, type: "kubernetes.io/tls", stringData: servingSecretData(certs) }).validate()).not.toThrow();
        expect(Object.keys(servingSecretData(certs)).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
    });
});

describe("sample manifests", () => {
    const manifest = fs.readFileSync(path.join(__dirname, "fixtures", "sample-app.yaml"), "utf8");

    test("every object lands in the target namespace and stays schema-valid", () => {
        const objects = prepareSampleObjects(manifest, { namespace: "demo", outputCertsDeployment: "productpage-v1" });
        expect(objects.map((o) => `${o.kind}/${o.metadata!.name}`)).toEqual(["Service/details", "ServiceAccount/sample-details", "Deployment/details-v1", "Deployment/productpage-v1"]);
        for (const o of objects) expect(o.metadata!.namespace).toBe("demo");
        for (const o of objects.filter((x) => x.kind === "Deployment")) expect(() => new Deployment(o as never).validate()).not.toThrow();
        expect(() => new Service(objects[0] as never).validate()).not.toThrow();
    });

    test("productpage's proxy writes its certificates to /etc/certs; other workloads are untouched", () => {
        const objects = prepareSampleObjects(manifest, { namespace: "demo", outputCertsDeployment: "productpage-v1" });
        const productpage = objects.find((o) => o.metadata!.name === "productpage-v1")!;
        const annotations = productpage.spec!.template.metadata.annotations;
        expect(annotations).toMatchObject(OUTPUT_CERTS_ANNOTATIONS);
        expect(annotations["prometheus.io/scrape"]).toBe("true");
        expect(JSON.parse(annotations["proxy.istio.io/config"])).toEqual({ proxyMetadata: { OUTPUT_CERTS: "/etc/certs" } });
        expect(JSON.parse(annotations["sidecar.istio.io/userVolumeMount"])).toEqual({ "istio-certs": { mountPath: "/etc/certs" } });
        const details = objects.find((o) => o.metadata!.name === "details-v1")!;
        expect(details.spec!.template.metadata.annotations).toBeUndefined();
    });

    test("every Deployment's readiness is bounded, so a stuck one fails pulumi up by name", () => {
        const objects = prepareSampleObjects(manifest, { namespace: "demo" });
        for (const o of objects.filter((x) => x.kind === "Deployment")) {
            expect(o.metadata!.annotations!["pulumi.com/timeoutSeconds"]).toBe(String(READY_TIMEOUT_SECONDS));
        }
    });

    test("a roll drops no request: the new pod serves a while before the old one goes, and the old one serves on a while after", () => {
        const objects = prepareSampleObjects(manifest, { namespace: "demo" });
        const deployments = objects.filter((x) => x.kind === "Deployment");
        expect(deployments.length).toBeGreaterThan(0);
        for (const o of deployments) {
            expect(o.spec!.minReadySeconds).toBe(ROLL_OVERLAP_SECONDS);
            for (const c of o.spec!.template.spec.containers) expect(c.lifecycle.preStop).toEqual({ sleep: { seconds: ROLL_OVERLAP_SECONDS } });
            expect(() => new Deployment(o as never).validate()).not.toThrow();
        }
        // A pod with no time for it (the curl sample's grace period of 0 s) gets no hook; a hook of its own stays.
        const quick = prepareSampleObjects(
            toManifest([{ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "q" }, spec: { selector: { matchLabels: { a: "q" } }, template: { metadata: { labels: { a: "q" } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "c", image: "i" }] } } } }]),
            { namespace: "demo" },
        )[0];
        expect(quick.spec!.template.spec.containers[0].lifecycle).toBeUndefined();
        const own = prepareSampleObjects(
            toManifest([{ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "o" }, spec: { selector: { matchLabels: { a: "o" } }, template: { metadata: { labels: { a: "o" } }, spec: { containers: [{ name: "c", image: "i", lifecycle: { preStop: { exec: { command: ["stop"] } } } }] } } } }]),
            { namespace: "demo" },
        )[0];
        expect(own.spec!.template.spec.containers[0].lifecycle.preStop).toEqual({ exec: { command: ["stop"] } });
    });

    test("preparation does not change the input and round-trips through YAML", () => {
        const objects = prepareSampleObjects(manifest, { namespace: "demo", outputCertsDeployment: "productpage-v1" });
        const again = prepareSampleObjects(toManifest(objects), { namespace: "demo", outputCertsDeployment: "productpage-v1" });
        expect(again).toEqual(objects);
        expect(YAML.parseAllDocuments(manifest)[3].toJS().metadata.namespace).toBeUndefined();
    });

    test("a manifest that does not parse is an error, not an empty sample", () => {
        expect(() => prepareSampleObjects("kind: [unclosed", { namespace: "demo" })).toThrow(/does not parse/);
    });
});

describe("release and images", () => {
    test("the release URL and platform follow Istio's published names", () => {
        expect(istioReleaseUrl("1.30.3", "linux-amd64")).toBe("https://github.com/istio/istio/releases/download/1.30.3/istio-1.30.3-linux-amd64.tar.gz");
        expect(istioPlatform("linux", "x64")).toBe("linux-amd64");
        expect(istioPlatform("linux", "arm64")).toBe("linux-arm64");
        expect(istioPlatform("darwin", "arm64")).toBe("osx-arm64");
        expect(istioPlatform("darwin", "x64")).toBe("osx");
    });

    test("sample images of 1.30 are curl for sleep and six bookinfo images", () => {
        expect(sampleImages("1.30.3", "sleep")).toEqual(["docker.io/curlimages/curl:8.16.0"]);
        expect(sampleImages("1.30.3", "bookinfo")).toHaveLength(6);
    });

    test("injector files live in the stack's folder under the blog's names", () => {
        expect(injectorFiles("/x")).toEqual({ injectConfigFile: "/x/inject-config.yaml", injectValuesFile: "/x/inject-values.json", meshConfigFile: "/x/mesh-config.yaml" });
    });
});

describe("the stack's namespaces", () => {
    const { namespacePlan } = require("../components/mesh/meshNamespaces") as typeof import("../components/mesh/meshNamespaces");
    const { parseSettings } = require("../components/config") as typeof import("../components/config");
    const settingsWith = (config: Record<string, unknown>) =>
        parseSettings(
            Object.fromEntries(Object.entries(config).map(([k, v]) => [`istio-minikube:${k}`, JSON.stringify(v)])),
            "t",
            { homeDir: "/home/u", projectDir: "/p" },
        );

    test("auto then manual with every sample, then outside-mesh with curl for the bookinfo checks", () => {
        expect(namespacePlan(settingsWith({ injection: { auto: ["a"], manual: ["m"] } }))).toEqual([
            { namespace: "a", injection: "auto", samples: ["sleep", "bookinfo"] },
            { namespace: "m", injection: "manual", samples: ["sleep", "bookinfo"] },
            { namespace: "outside-mesh", injection: "none", samples: ["sleep"] },
        ]);
    });

    test("no outside-mesh client without bookinfo, or without a mesh namespace", () => {
        expect(namespacePlan(settingsWith({ samples: ["sleep"] })).map((n) => n.namespace)).toEqual(["default"]);
        expect(namespacePlan(settingsWith({ injection: { auto: [], manual: [] } }))).toEqual([]);
    });
});

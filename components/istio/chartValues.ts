// Helm values for Istio's `base` and `istiod` charts, as pure functions of the stack's settings.
import { createHash } from "crypto";
import { ISTIO_HUB } from "./versions";

/**
 * Pod-template annotation naming the certificate generation: new certificates roll the pods that carry it
 * (istiod, so it loads the new Secrets; the samples, so their proxies get certificates from the new root).
 */
export const CERTIFICATES_ANNOTATION = "istio-minikube/certificates";

/**
 * A short fingerprint of the settings that make new certificates (meshCertificates.ts REPLACING_INPUTS and
 * ROTATING_INPUTS) and of the retire step: it changes when the certificates istiod and the workloads should
 * reload change (and with validityDays, which only the next rotation applies: it stays in, so existing
 * stacks keep their fingerprint), and, unlike a hash of the root itself, it is known during `pulumi
 * preview`, so a rotation's preview still renders the samples and shows them as updates instead of deletes.
 * A retired previous root adds to it (so the stack's workloads drop it at once), and so does a previous root
 * that still signs (the trust step: the sign step then changes it, so istiod loads the new signer and the
 * workloads get its certificates); a kept root and a new root that signs do not, so a stack that uses
 * neither keeps the fingerprint it had before the overlap existed.
 */
export function certificatesFingerprint(settings: {
    organization: string;
    servingDnsNames: string[];
    validityDays: number;
    rotation: number;
    keepPreviousRoot: boolean;
    /** certificates.signing naming the previous root (meshCertificates.ts previousRootSigns); absent is false. */
    previousRootSigns?: boolean;
}): string {
    const { organization, servingDnsNames, validityDays, rotation, keepPreviousRoot, previousRootSigns } = settings;
    const retired = keepPreviousRoot ? {} : { previousRootRetired: true };
    const signing = previousRootSigns ? { previousRootSigns: true } : {};
    return createHash("sha256").update(JSON.stringify({ organization, servingDnsNames, validityDays, rotation, ...retired, ...signing })).digest("hex").slice(0, 16);
}

/** The annotation by which pulumi-kubernetes orders the objects of one chart or YAML group. */
export const DEPENDS_ON_ANNOTATION = "config.kubernetes.io/depends-on";
/** The istiod chart's ConfigMaps istiod reads at its start: the mesh config and the injector's templates and values. */
export const ISTIOD_CONFIG_MAPS = ["istio", "istio-sidecar-injector"];
/** Where Istio's control plane runs. */
export const ISTIO_NAMESPACE = "istio-system";

export interface ChartValueInputs {
    istioVersion: string;
    /** certificatesFingerprint() of the stack's certificate settings. */
    certificates: string;
}

/**
 * base chart (manifests/charts/base at 1.30.3): CRDs as templates and the reader ServiceAccount. The chart's
 * `istiod-default-validator` ValidatingWebhookConfiguration is left out (an empty defaultRevision:
 * templates/defaultrevision-validatingwebhookconfiguration.yaml `if not (eq .Values.defaultRevision "")`):
 * the program creates it itself with the root CA as caBundle (validationWebhooks.ts), so no value of the
 * charts depends on the root, and a rotation's preview can render them.
 */
export function baseChartValues(): Record<string, unknown> {
    return { defaultRevision: "" };
}

/**
 * The part of istiod's values that reaches the injector ConfigMap's `values` key
 * (templates/istiod-injector-configmap.yaml at 1.30.3: `pick .Values "global" "sidecarInjectorWebhook"
 * "revision"` plus pilot.cni and pilot.env). The root CA is not in it, so a rotation does not count.
 */
export function injectorValues(values: Record<string, any>): Record<string, unknown> {
    return {
        global: values.global,
        sidecarInjectorWebhook: values.sidecarInjectorWebhook,
        revision: values.revision,
        pilot: { cni: values.pilot?.cni, env: values.pilot?.env },
    };
}

/** istiod chart (manifests/charts/istio-control/istio-discovery at 1.30.3). */
export function istiodChartValues(inputs: ChartValueInputs): Record<string, unknown> {
    return {
        global: {
            // The images the preload put into minikube: same hub, same tag, never pulled again.
            hub: ISTIO_HUB,
            tag: inputs.istioVersion,
            imagePullPolicy: "IfNotPresent",
            // Leaves out the chart's istio-sidecar-injector MutatingWebhookConfiguration
            // (templates/mutatingwebhook.yaml is wrapped in `if not .Values.global.operatorManageWebhooks`):
            // the program creates that object itself, with the caBundle set.
            operatorManageWebhooks: true,
            // Leaves out the chart's istio-validator-istio-system ValidatingWebhookConfiguration
            // (templates/validatingwebhookconfiguration.yaml `if .Values.global.configValidation`; nothing else
            // reads the value): the program creates it itself with the caBundle set (validationWebhooks.ts).
            // istiod still serves /validate (pilot/pkg/bootstrap/validation.go).
            configValidation: false,
            // One replica on a laptop: a PDB with minAvailable 1 would block `minikube` node drains.
            defaultPodDisruptionBudget: { enabled: false },
            proxy: { resources: { requests: { cpu: "10m", memory: "40Mi" } } },
        },
        pilot: {
            // New certificates (certificates.rotation) roll istiod, so it starts on the new Secrets
            // (templates/deployment.yaml renders podAnnotations onto the pod template).
            podAnnotations: { [CERTIFICATES_ANNOTATION]: inputs.certificates },
            // istiod reads the injector's ConfigMap once, when it starts, and serves no /inject without it
            // (pilot/pkg/bootstrap/sidecarinjector.go: "Skipping sidecar injector, template not found"); the mesh
            // config likewise. Helm applies ConfigMaps before Deployments (its install order), but a Pulumi
            // chart creates its objects side by side, so istiod's pod could start first and every injected pod
            // be refused with a 404. Its Deployment waits for both (config.kubernetes.io/depends-on, which
            // pulumi-kubernetes' Chart v4 orders a chart's objects by: provider/pkg/provider/yaml/v2 Register).
            deploymentAnnotations: { [DEPENDS_ON_ANNOTATION]: ISTIOD_CONFIG_MAPS.map((name) => `/namespaces/${ISTIO_NAMESPACE}/ConfigMap/${name}`).join(",") },
            autoscaleEnabled: false,
            // The demo profile's requests (files/profile-demo.yaml): istiod fits beside bookinfo on 4 CPUs.
            resources: { requests: { cpu: "10m", memory: "100Mi" } },
            env: {
                // Empty turns off istiod's webhook caBundle patcher (pilot/pkg/bootstrap/sidecarinjector.go:
                // `if features.InjectionWebhookConfigName != ""`), so the program is the one owner of the
                // field. The chart sets no such variable itself, so this adds one entry, not a duplicate.
                INJECTION_WEBHOOK_CONFIG_NAME: "",
                // Likewise for the validating webhooks (pilot/pkg/bootstrap/validation.go: the validation
                // server always runs; only the controller that patches caBundle and failurePolicy is off).
                // The program sets their caBundle, and sets it anew on rotation.
                VALIDATION_WEBHOOK_CONFIG_NAME: "",
            },
            // Serve with istiod-tls and trust its ca.crt, always. Without the flags istiod prefers
            // ca/root-cert.pem, the istio-ca-root-cert ConfigMap it wrote itself on an earlier boot, and
            // would keep an old root after a rotation (pilot/pkg/bootstrap/server.go hasCustomTLSCerts:
            // arguments first). The Secret is mounted at /var/run/secrets/istiod/tls (templates/deployment.yaml).
            extraContainerArgs: [
                "--tlsCertFile=/var/run/secrets/istiod/tls/tls.crt",
                "--tlsKeyFile=/var/run/secrets/istiod/tls/tls.key",
                "--caCertFile=/var/run/secrets/istiod/tls/ca.crt",
            ],
        },
    };
}

export interface GatewayValueInputs {
    serviceType: "NodePort" | "LoadBalancer";
    /** certificatesFingerprint() of the certificate settings: new certificates roll the gateway's proxy too. */
    certificates: string;
}

/** How long the gateway's Deployment may take to become available before `pulumi up` fails naming it. */
export const GATEWAY_READY_TIMEOUT_SECONDS = 300;

/**
 * Istio's gateway chart (manifests/charts/gateway at 1.30.3). The chart's own pod label
 * sidecar.istio.io/inject and annotation inject.istio.io/templates: gateway stay (values.yaml
 * podAnnotations and templates/_helpers.tpl gateway.sidecarInjectionLabels; values here merge over them),
 * so the program's webhook injects the gateway template. The Service ports are the demo profile's
 * (manifests/helm-profiles/demo.yaml): bookinfo-gateway.yaml's server listens on 8080, and istiod binds a
 * Gateway server to the targetPort of the Service port with that number, else to the number as it is
 * (pilot/pkg/model/gateway.go resolvePorts), so the Service must send port 80 to 8080.
 */
export function gatewayChartValues(inputs: GatewayValueInputs): Record<string, unknown> {
    return {
        replicaCount: 1,
        autoscaling: { enabled: false },
        resources: { requests: { cpu: "10m", memory: "40Mi" } },
        podAnnotations: { [CERTIFICATES_ANNOTATION]: inputs.certificates },
        // On every object of the chart (templates/deployment.yaml, service.yaml); only the Deployment awaits.
        annotations: { "pulumi.com/timeoutSeconds": String(GATEWAY_READY_TIMEOUT_SECONDS) },
        service: {
            type: inputs.serviceType,
            // A LoadBalancer Service is ready for @pulumi/kubernetes only once it has an address
            // (provider/pkg/await/service.go), which minikube gives only while `minikube tunnel` runs:
            // the stack output bookinfoUrl says how to get one instead of `up` waiting for it.
            annotations: inputs.serviceType === "LoadBalancer" ? { "pulumi.com/skipAwait": "true" } : {},
            ports: [
                { name: "status-port", port: 15021, protocol: "TCP", targetPort: 15021 },
                { name: "http2", port: 80, protocol: "TCP", targetPort: 8080 },
                { name: "https", port: 443, protocol: "TCP", targetPort: 8443 },
            ],
        },
    };
}

import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { MtlsMode } from "../config";
import { baseChartValues, istiodChartValues, ISTIO_NAMESPACE } from "./chartValues";
import { IstioRelease } from "./istioRelease";
import { MeshCertificates } from "../trust/meshCertificates";
import { OWNER_LABEL } from "./existingIstio";
import { validationWebhooks, VALIDATION_WEBHOOK_LABELS, VALIDATION_WEBHOOK_NAMES } from "./validationWebhooks";
import { withFieldManager } from "../fieldManager";

export { ISTIO_NAMESPACE };

export interface IstioControlPlaneArgs {
    provider: k8s.Provider;
    /** The same cluster, adopting what exists: for the base chart, whose CRDs a destroy keeps (kubernetesProvider.ts). */
    adoptingProvider: k8s.Provider;
    release: IstioRelease;
    mtls: MtlsMode;
    certificates: MeshCertificates;
    /** certificatesFingerprint() of the certificate settings: rolls istiod when they change. */
    certificatesFingerprint: string;
    /** The stack's owner label value for istio-system: how a later run tells its own install from another. */
    owner: string;
    /** What istiod's pod needs before it starts, beyond the charts and Secrets (the preload of its image). */
    istiodWaitsFor?: pulumi.Resource[];
    /** The stack's server-side-apply field manager (components/fieldManager.ts), on every object made here. */
    fieldManager: string;
    /**
     * Label the base chart's CRDs with the owner label through a Pulumi transform. The offline plan turns it
     * off: Pulumi's mock runtime has no callback server to register transforms with.
     */
    labelCrds: boolean;
}

const CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition";

/**
 * A transform that puts the stack's owner label on every CRD the base chart makes. The CRDs outlive a
 * destroy (helm.sh/resource-policy: keep), and the label is how the stack's next `up` knows them for its own
 * (existingIstio.ts). Transforms reach the children a provider's Construct registers (the engine applies a
 * parent's transforms to every child registration: pulumi/pulumi pkg/resource/deploy/source_eval.go
 * RegisterResource, applyTransforms).
 */
export function labelOwnCrds(owner: string): pulumi.ResourceTransform {
    return (args) => {
        if (args.type !== CRD_TYPE) return undefined;
        const metadata = (args.props.metadata ?? {}) as { labels?: Record<string, string> };
        return { props: { ...args.props, metadata: { ...metadata, labels: { ...(metadata.labels ?? {}), [OWNER_LABEL]: owner } } }, opts: args.opts };
    };
}

export function base64(text: string): string {
    return Buffer.from(text, "utf8").toString("base64");
}

/**
 * Istio's plug-in CA Secret (security/pkg/pki/ca/ca.go file names at 1.30.3), mounted at /etc/cacerts.
 * root-cert.pem is the whole trust bundle: istiod checks ca-cert.pem against it as a pool
 * (security/pkg/pki/util/keycertbundle.go Verify: AppendCertsFromPEM), and hands it whole to every workload
 * as the last element of each CSR response (security/pkg/server/ca/server.go: "we do not want to flatten
 * the root cert"), which the agent keeps as its trust bundle (security/pkg/nodeagent/cache/secretcache.go
 * generateNewSecret). cert-chain.pem stays the intermediate and the root that signed it.
 */
export function pluginCaSecretData(certs: { intermediateCertPem: string; intermediateKeyPem: string; trustBundlePem: string; certChainPem: string }) {
    return {
        "ca-cert.pem": certs.intermediateCertPem,
        "ca-key.pem": certs.intermediateKeyPem,
        "root-cert.pem": certs.trustBundlePem,
        "cert-chain.pem": certs.certChainPem,
    };
}

/**
 * istiod's serving certificate. The chart mounts Secret istiod-tls at /var/run/secrets/istiod/tls, and
 * istiod uses tls.crt/tls.key with tls.crt's CA ca.crt when those files exist (pilot/pkg/bootstrap/server.go
 * hasCustomTLSCerts; pkg/config/constants DefaultPilotTLSCaCertAlternatePath, at 1.30.3). ca.crt is also
 * what istiod publishes as istio-ca-root-cert (certcontroller.go initFileCertificateWatches, read again
 * whenever tls.crt or tls.key changes), the root each workload trusts istiod by: the same bundle as the
 * plug-in CA's.
 */
export function servingSecretData(certs: { servingCertPem: string; servingKeyPem: string; trustBundlePem: string }) {
    return { "tls.crt": certs.servingCertPem, "tls.key": certs.servingKeyPem, "ca.crt": certs.trustBundlePem };
}

/**
 * The control plane: namespace istio-system, the two certificate Secrets, Istio's `base` chart then its
 * `istiod` chart (the blog's istio.yaml), and the mesh-wide PeerAuthentication (the blog's istio-auth.yaml
 * is STRICT). istiod waits for the Secrets, so it never starts with a certificate of its own making.
 */
export class IstioControlPlane extends pulumi.ComponentResource {
    readonly namespace: k8s.core.v1.Namespace;
    readonly istiod: k8s.helm.v4.Chart;
    /** The istiod chart's values: what the injector ConfigMap is made from. */
    readonly istiodValues: Record<string, unknown>;
    readonly peerAuthentication: k8s.apiextensions.CustomResource;
    readonly validationWebhooks: k8s.admissionregistration.v1.ValidatingWebhookConfiguration[];

    constructor(name: string, args: IstioControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-minikube:istio:IstioControlPlane", name, {}, opts);
        const { provider, release, certificates } = args;
        const k8sOpts = { parent: this, provider };

        this.namespace = new k8s.core.v1.Namespace(
            ISTIO_NAMESPACE,
            { metadata: withFieldManager({ name: ISTIO_NAMESPACE, labels: { [OWNER_LABEL]: args.owner } }, args.fieldManager) },
            k8sOpts,
        );
        const inNamespace = { ...k8sOpts, dependsOn: [this.namespace] };

        const secret = (name: string, type: string, data: pulumi.Input<{ [key: string]: string }>) =>
            new k8s.core.v1.Secret(
                name,
                { metadata: withFieldManager({ name, namespace: ISTIO_NAMESPACE }, args.fieldManager), type, stringData: pulumi.secret(data) },
                inNamespace,
            );
        const pluginCa = secret(
            "cacerts",
            "Opaque",
            pulumi.all([certificates.signer, certificates.trustBundle]).apply(([signer, trustBundlePem]) => pluginCaSecretData({ ...signer, trustBundlePem })),
        );
        const servingTls = secret(
            "istiod-tls",
            "kubernetes.io/tls",
            pulumi
                .all([certificates.servingCertPem, certificates.servingKeyPem, certificates.trustBundle])
                .apply(([servingCertPem, servingKeyPem, trustBundlePem]) => servingSecretData({ servingCertPem, servingKeyPem, trustBundlePem })),
        );

        // Nothing the charts take depends on the root CA, so a rotation's preview renders them and lists
        // the updates `up` will make (chartValues.ts, validationWebhooks.ts).
        const valueInputs = { istioVersion: release.version, certificates: args.certificatesFingerprint };
        const base = new k8s.helm.v4.Chart(
            "istio-base",
            { chart: release.baseChart, name: "istio-base", namespace: ISTIO_NAMESPACE, values: baseChartValues() },
            { ...inNamespace, provider: args.adoptingProvider, ...(args.labelCrds ? { transforms: [labelOwnCrds(args.owner)] } : {}) },
        );
        // A remote component's dependents wait for all of its children (@pulumi/pulumi runtime/dependsOn.ts),
        // so istiod renders and installs only after base's CRDs exist.
        this.istiodValues = istiodChartValues(valueInputs);
        this.istiod = new k8s.helm.v4.Chart(
            "istiod",
            { chart: release.istiodChart, name: "istiod", namespace: ISTIO_NAMESPACE, values: this.istiodValues },
            { ...k8sOpts, dependsOn: [base, pluginCa, servingTls, ...(args.istiodWaitsFor ?? [])] },
        );

        // The charts' two validating webhooks, with the trust bundle as caBundle. Stacks made before the program
        // created them had them as chart children: the aliases keep those objects, updated in place.
        const chartChildNames: Record<string, { name: string; parent: pulumi.Resource }> = {
            [VALIDATION_WEBHOOK_NAMES.defaultRevision]: { name: `istio-base:${VALIDATION_WEBHOOK_NAMES.defaultRevision}`, parent: base },
            [VALIDATION_WEBHOOK_NAMES.revision]: { name: `istiod:${VALIDATION_WEBHOOK_NAMES.revision}`, parent: this.istiod },
        };
        this.validationWebhooks = Object.values(VALIDATION_WEBHOOK_NAMES).map(
            (webhookName) =>
                new k8s.admissionregistration.v1.ValidatingWebhookConfiguration(
                    webhookName,
                    {
                        metadata: withFieldManager({ name: webhookName, labels: VALIDATION_WEBHOOK_LABELS }, args.fieldManager),
                        webhooks: pulumi.output(certificates.trustBundle).apply((bundle) => validationWebhooks(webhookName, base64(bundle), ISTIO_NAMESPACE)),
                    },
                    // After istiod: with failurePolicy Fail, an Istio object created while nothing serves /validate fails.
                    { ...k8sOpts, dependsOn: [this.istiod], aliases: [chartChildNames[webhookName]] },
                ),
        );

        // security.istio.io/v1 is served and stored at 1.30.3 (manifests/charts/base/files/crd-all.gen.yaml).
        // After istiod and the webhooks: istiod validates it, trusted through the program's caBundle.
        this.peerAuthentication = new k8s.apiextensions.CustomResource(
            "mesh-mtls",
            {
                apiVersion: "security.istio.io/v1",
                kind: "PeerAuthentication",
                metadata: withFieldManager({ name: "default", namespace: ISTIO_NAMESPACE }, args.fieldManager),
                spec: { mtls: { mode: args.mtls } },
            },
            { ...k8sOpts, dependsOn: [this.istiod, ...this.validationWebhooks] },
        );

        this.registerOutputs({ namespace: ISTIO_NAMESPACE, mtls: args.mtls });
    }
}

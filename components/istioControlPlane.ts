import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { MtlsMode } from "./config";
import { baseChartValues, istiodChartValues } from "./chartValues";
import { IstioRelease } from "./istioRelease";
import { MeshCertificates } from "./meshCertificates";
import { OWNER_LABEL } from "./existingIstio";

export const ISTIO_NAMESPACE = "istio-system";

export interface IstioControlPlaneArgs {
    provider: k8s.Provider;
    release: IstioRelease;
    mtls: MtlsMode;
    certificates: MeshCertificates;
    /** certificatesFingerprint() of the certificate settings: rolls istiod when they change. */
    certificatesFingerprint: string;
    /** The stack's owner label value for istio-system: how a later run tells its own install from another. */
    owner: string;
    /** What istiod's pod needs before it starts, beyond the charts and Secrets (the preload of its image). */
    istiodWaitsFor?: pulumi.Resource[];
}

export function base64(text: string): string {
    return Buffer.from(text, "utf8").toString("base64");
}

/** Istio's plug-in CA Secret (security/pkg/pki/ca/ca.go file names at 1.30.3), mounted at /etc/cacerts. */
export function pluginCaSecretData(certs: { intermediateCertPem: string; intermediateKeyPem: string; rootCertPem: string; certChainPem: string }) {
    return {
        "ca-cert.pem": certs.intermediateCertPem,
        "ca-key.pem": certs.intermediateKeyPem,
        "root-cert.pem": certs.rootCertPem,
        "cert-chain.pem": certs.certChainPem,
    };
}

/**
 * istiod's serving certificate. The chart mounts Secret istiod-tls at /var/run/secrets/istiod/tls, and
 * istiod uses tls.crt/tls.key with tls.crt's CA ca.crt when those files exist (pilot/pkg/bootstrap/server.go
 * hasCustomTLSCerts; pkg/config/constants DefaultPilotTLSCaCertAlternatePath, at 1.30.3). That CA is
 * also what istiod publishes as istio-ca-root-cert, so it must be the same root as the plug-in CA's.
 */
export function servingSecretData(certs: { servingCertPem: string; servingKeyPem: string; rootCertPem: string }) {
    return { "tls.crt": certs.servingCertPem, "tls.key": certs.servingKeyPem, "ca.crt": certs.rootCertPem };
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
    readonly istiodValues: pulumi.Output<Record<string, unknown>>;
    readonly peerAuthentication: k8s.apiextensions.CustomResource;

    constructor(name: string, args: IstioControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-minikube:istio:IstioControlPlane", name, {}, opts);
        const { provider, release, certificates } = args;
        const k8sOpts = { parent: this, provider };

        this.namespace = new k8s.core.v1.Namespace(
            ISTIO_NAMESPACE,
            { metadata: { name: ISTIO_NAMESPACE, labels: { [OWNER_LABEL]: args.owner } } },
            k8sOpts,
        );
        const inNamespace = { ...k8sOpts, dependsOn: [this.namespace] };

        const secret = (name: string, type: string, data: pulumi.Input<{ [key: string]: string }>) =>
            new k8s.core.v1.Secret(name, { metadata: { name, namespace: ISTIO_NAMESPACE }, type, stringData: pulumi.secret(data) }, inNamespace);
        const pluginCa = secret(
            "cacerts",
            "Opaque",
            pulumi
                .all([certificates.intermediateCertPem, certificates.intermediateKeyPem, certificates.rootCertPem, certificates.certChainPem])
                .apply(([intermediateCertPem, intermediateKeyPem, rootCertPem, certChainPem]) =>
                    pluginCaSecretData({ intermediateCertPem, intermediateKeyPem, rootCertPem, certChainPem }),
                ),
        );
        const servingTls = secret(
            "istiod-tls",
            "kubernetes.io/tls",
            pulumi
                .all([certificates.servingCertPem, certificates.servingKeyPem, certificates.rootCertPem])
                .apply(([servingCertPem, servingKeyPem, rootCertPem]) => servingSecretData({ servingCertPem, servingKeyPem, rootCertPem })),
        );

        const valueInputs = pulumi.all([certificates.rootCertPem]).apply(([root]) => ({
            istioVersion: release.version,
            caBundle: base64(root),
            certificates: args.certificatesFingerprint,
        }));
        const base = new k8s.helm.v4.Chart(
            "istio-base",
            { chart: release.baseChart, name: "istio-base", namespace: ISTIO_NAMESPACE, values: valueInputs.apply(baseChartValues) },
            inNamespace,
        );
        // A remote component's dependents wait for all of its children (@pulumi/pulumi runtime/dependsOn.ts),
        // so istiod renders and installs only after base's CRDs exist.
        this.istiodValues = valueInputs.apply(istiodChartValues);
        this.istiod = new k8s.helm.v4.Chart(
            "istiod",
            { chart: release.istiodChart, name: "istiod", namespace: ISTIO_NAMESPACE, values: this.istiodValues },
            { ...k8sOpts, dependsOn: [base, pluginCa, servingTls, ...(args.istiodWaitsFor ?? [])] },
        );

        // security.istio.io/v1 is served and stored at 1.30.3 (manifests/charts/base/files/crd-all.gen.yaml).
        // After istiod, not only after base: istiod serves the validating webhook for this kind.
        this.peerAuthentication = new k8s.apiextensions.CustomResource(
            "mesh-mtls",
            {
                apiVersion: "security.istio.io/v1",
                kind: "PeerAuthentication",
                metadata: { name: "default", namespace: ISTIO_NAMESPACE },
                spec: { mtls: { mode: args.mtls } },
            },
            { ...k8sOpts, dependsOn: [this.istiod] },
        );

        this.registerOutputs({ namespace: ISTIO_NAMESPACE, mtls: args.mtls });
    }
}

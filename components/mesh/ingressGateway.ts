import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { GATEWAY_NAMESPACE, GatewayServiceType } from "../config";
import { gatewayChartValues } from "../istio/chartValues";
import { IstioRelease } from "../istio/istioRelease";
import { OWNER_LABEL } from "../istio/existingIstio";
import { withFieldManager } from "../fieldManager";

/**
 * The Helm release name. The chart names its objects after it and derives the pod labels from it
 * (templates/_helpers.tpl gateway.name, gateway.selectorLabels: app=<name>, istio=<name without istio->),
 * so this name gives istio=ingressgateway, the selector of bookinfo-gateway.yaml's Gateway.
 */
export const GATEWAY_RELEASE_NAME = "istio-ingressgateway";
/** The Service (and Deployment) the chart makes: named after the release. */
export const GATEWAY_SERVICE_NAME = GATEWAY_RELEASE_NAME;

export interface IngressGatewayArgs {
    provider: k8s.Provider;
    release: IstioRelease;
    serviceType: GatewayServiceType;
    /** certificatesFingerprint() of the certificate settings: new certificates roll the gateway. */
    certificatesFingerprint: string;
    /** The stack's owner label value, as on istio-system. */
    owner: string;
    /** The injector webhook, its ConfigMap and istiod: the gateway's pod is injected when it is created. */
    meshReady: pulumi.Resource[];
    /** The preload of the proxy image. */
    images: pulumi.Resource[];
    /** The stack's server-side-apply field manager (components/fieldManager.ts), on every object made here. */
    fieldManager: string;
}

/**
 * istio.io's ingress gateway: Istio's gateway chart from the release in namespace istio-ingress. The chart
 * asks for injection with the gateway template, so the program's webhook gives the pod its proxy from istiod,
 * under the stack's root of trust like every workload.
 */
export class IngressGateway extends pulumi.ComponentResource {
    readonly namespace: k8s.core.v1.Namespace;
    readonly chart: k8s.helm.v4.Chart;

    constructor(name: string, args: IngressGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-minikube:mesh:IngressGateway", name, {}, opts);
        const k8sOpts = { parent: this, provider: args.provider };
        // Not labelled for injection: the chart's pod label sidecar.istio.io/inject=true is what the
        // webhook's object selector matches in a namespace without the label (sidecarInjector.ts).
        this.namespace = new k8s.core.v1.Namespace(
            GATEWAY_NAMESPACE,
            { metadata: withFieldManager({ name: GATEWAY_NAMESPACE, labels: { [OWNER_LABEL]: args.owner } }, args.fieldManager) },
            k8sOpts,
        );
        this.chart = new k8s.helm.v4.Chart(
            GATEWAY_RELEASE_NAME,
            {
                chart: args.release.gatewayChart,
                name: GATEWAY_RELEASE_NAME,
                namespace: GATEWAY_NAMESPACE,
                values: gatewayChartValues({ serviceType: args.serviceType, certificates: args.certificatesFingerprint }),
            },
            { ...k8sOpts, dependsOn: [this.namespace, ...args.meshReady, ...args.images] },
        );
        this.registerOutputs({ namespace: GATEWAY_NAMESPACE, service: GATEWAY_SERVICE_NAME, serviceType: args.serviceType });
    }
}

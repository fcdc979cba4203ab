import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as command from "@pulumi/command";
import { GATEWAY_NAMESPACE, GatewayServiceType } from "../config";
import { IstioRelease } from "../istio/istioRelease";
import { prepareSampleObjects, toManifest } from "./sampleManifests";
import { scriptCommand } from "../scripts";
import { GATEWAY_SERVICE_NAME } from "./ingressGateway";

/** bookinfo's Gateway and VirtualService in the release (istio.io's getting-started applies this file). */
export const BOOKINFO_GATEWAY_FILE = ["bookinfo", "networking", "bookinfo-gateway.yaml"];

/** What ingress-url.sh needs to find the gateway's address. */
export function ingressUrlEnvironment(inputs: { kubeContext: string; serviceType: GatewayServiceType; minikubeProfile?: string }): Record<string, string> {
    return {
        KUBE_CONTEXT: inputs.kubeContext,
        GATEWAY_NAMESPACE,
        GATEWAY_SERVICE: GATEWAY_SERVICE_NAME,
        GATEWAY_SERVICE_TYPE: inputs.serviceType,
        MINIKUBE_PROFILE: inputs.minikubeProfile ?? "",
    };
}

export interface BookinfoIngressArgs {
    provider: k8s.Provider;
    release: IstioRelease;
    /** The first namespace that runs bookinfo in the mesh. */
    namespace: string;
    kubeContext: string;
    serviceType: GatewayServiceType;
    /** The minikube profile, or undefined on an existing cluster. */
    minikubeProfile?: string;
    /** Changes when the cluster is a new one: the URL is asked for again. */
    clusterIdentity: pulumi.Input<string>;
    /** The namespace and istiod with its validating webhooks: Istio objects are validated when created. */
    routesWaitFor: pulumi.Resource[];
    /** The gateway chart: its Service holds the node port or the load balancer's address. */
    gateway: pulumi.Resource;
}

/**
 * bookinfo from the browser: the release's bookinfo-gateway.yaml into bookinfo's namespace, and the URL of
 * its product page through the ingress gateway, asked of minikube and the cluster (ingress-url.sh).
 */
export class BookinfoIngress extends pulumi.ComponentResource {
    readonly routes: k8s.yaml.v2.ConfigGroup;
    /** http://<address>:<port>/productpage, or a line saying how to get a load balancer address. */
    readonly url: pulumi.Output<string>;
    readonly urlCommand: command.local.Command;

    constructor(name: string, args: BookinfoIngressArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-minikube:mesh:BookinfoIngress", name, {}, opts);
        const manifest = args.release
            .sample(...BOOKINFO_GATEWAY_FILE)
            .apply((file) => toManifest(prepareSampleObjects(fs.readFileSync(file, "utf8"), { namespace: args.namespace })));
        this.routes = new k8s.yaml.v2.ConfigGroup(
            `bookinfo-gateway-${args.namespace}`,
            { yaml: manifest },
            { parent: this, provider: args.provider, dependsOn: args.routesWaitFor },
        );
        // Asked once per cluster and service type, so a no-op `up` stays one; after `minikube stop` and
        // `start` gave the node a new address, `pulumi up --replace` on this command asks again (docs/see-it.md: Asking for the URL again).
        this.urlCommand = new command.local.Command(
            "bookinfo-url",
            {
                create: scriptCommand("ingress-url.sh"),
                environment: { ...ingressUrlEnvironment(args), INGRESS_URL_PENDING: "report" },
                triggers: [args.clusterIdentity, args.serviceType],
            },
            { parent: this, dependsOn: [args.gateway] },
        );
        this.url = this.urlCommand.stdout.apply((out) => out.trim());
        this.registerOutputs({ url: this.url });
    }
}

import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { clusterProviders } from "./kubernetesProvider";

export interface ExistingClusterArgs {
    /** A context in the user's kubeconfig ($KUBECONFIG or ~/.kube/config). */
    kubeContext: string;
    /** Adopt objects that already exist instead of failing on them (pulumi-kubernetes 4.29+ fails by default). */
    upsertExistingObjects?: boolean;
}

/** A cluster the stack does not own: only a provider bound to one kubeconfig context. */
export class ExistingCluster extends pulumi.ComponentResource {
    readonly provider: k8s.Provider;
    /** The same cluster, for Istio's base chart: adopts the CRDs an earlier destroy of this stack kept. */
    readonly adoptingProvider: k8s.Provider;
    /** Changes exactly when the stack points at another cluster. */
    readonly clusterIdentity: pulumi.Output<string>;

    constructor(name: string, args: ExistingClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-minikube:cluster:ExistingCluster", name, {}, opts);
        ({ provider: this.provider, adoptingProvider: this.adoptingProvider } = clusterProviders(
            name,
            {
                context: args.kubeContext,
                // Replace the provider (and every object through it) only when the context changes, not when
                // the kubeconfig file is rewritten with fresh tokens or addresses.
                clusterIdentifier: `context/${args.kubeContext}`,
                // Only when asked: a stack that never set it keeps the provider config it has.
                ...(args.upsertExistingObjects ? { upsertExistingObjects: true } : {}),
            },
            { parent: this },
        ));
        this.clusterIdentity = pulumi.output(`context/${args.kubeContext}`);
        this.registerOutputs({ provider: this.provider });
    }
}

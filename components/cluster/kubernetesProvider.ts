import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

/**
 * Variables the kubernetes SDK reads when its Provider is constructed, to fill inputs the program left
 * unset (@pulumi/kubernetes provider.js: `args.x ?? getEnv("KUBECONFIG")`, `?? getEnvBoolean("PULUMI_K8S_...")`).
 * What it reads there is stored in the provider's state: the stack would diff between shells, and an
 * exported PULUMI_K8S_DELETE_UNREACHABLE would be kept and applied to every later refresh.
 */
export const PROVIDER_ENVIRONMENT = [
    "KUBECONFIG",
    "PULUMI_K8S_DELETE_UNREACHABLE",
    "PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE",
    "PULUMI_K8S_ENABLE_PATCH_FORCE",
    "PULUMI_K8S_ENABLE_SECRET_MUTABLE",
    "PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY",
    "PULUMI_K8S_SKIP_UPDATE_UNREACHABLE",
    "PULUMI_K8S_SUPPRESS_DEPRECATION_WARNINGS",
    "PULUMI_K8S_SUPPRESS_HELM_HOOK_WARNINGS",
    "PULUMI_K8S_UPSERT_EXISTING_OBJECTS",
] as const;

/**
 * A Kubernetes provider whose inputs are exactly `args`: the SDK's environment fallbacks are not applied,
 * so the stored config depends only on the stack's config. The provider plugin still reads its own
 * environment when it runs (client-go finds the kubeconfig through KUBECONFIG or ~/.kube/config, and
 * `npm run destroy` passes PULUMI_K8S_DELETE_UNREACHABLE to that one run); none of it reaches the state.
 */
export function kubernetesProvider(name: string, args: k8s.ProviderArgs, opts: pulumi.CustomResourceOptions): k8s.Provider {
    const saved = new Map<string, string | undefined>();
    for (const key of PROVIDER_ENVIRONMENT) {
        saved.set(key, process.env[key]);
        delete process.env[key];
    }
    try {
        // The SDK reads the environment synchronously, in the constructor.
        return new k8s.Provider(name, args, opts);
    } finally {
        for (const [key, value] of saved) {
            if (value !== undefined) process.env[key] = value;
        }
    }
}

/**
 * What every provider of the stack sets. A certificate rotation changes the data of Secrets `cacerts` and
 * `istiod-tls` and of istiod's `values` ConfigMap; by default the provider replaces a Secret or ConfigMap
 * whose data changes (pulumi-kubernetes provider/pkg/provider/diff.go: `IsSecret(obj) &&
 * !(k.enableSecretMutable && ...)`), and a replace of a named object deletes it before it creates it again,
 * so istiod could start while its Secret is missing. Mutable, they are updated in place. What that costs,
 * a pod reading them not restarting by itself, the program pays already: new certificates roll istiod and
 * the samples through their certificates annotation (chartValues.ts CERTIFICATES_ANNOTATION).
 */
export const MUTABLE_DATA = { enableSecretMutable: true, enableConfigMapMutable: true } as const;

export interface ClusterProviders {
    /** Every Kubernetes resource of the stack but Istio's base chart. */
    provider: k8s.Provider;
    /**
     * The same cluster, for Istio's base chart alone: it adopts objects that exist already. The chart's
     * CRDs are kept when the stack is destroyed (they carry helm.sh/resource-policy: keep), so the stack's
     * next `up` finds its own CRDs in place, and a provider that refuses existing objects (pulumi-kubernetes
     * 4.29 and later, CHANGELOG #2926) would stop there. existingIstio.ts refuses, before any change, every
     * Istio object that is not this stack's own, so this only ever adopts the stack's own leftovers.
     */
    adoptingProvider: k8s.Provider;
}

/** The stack's two providers for one cluster (see ClusterProviders); `args` are what both share. */
export function clusterProviders(name: string, args: k8s.ProviderArgs, opts: pulumi.CustomResourceOptions): ClusterProviders {
    return {
        provider: kubernetesProvider(name, { ...args, ...MUTABLE_DATA }, opts),
        adoptingProvider: kubernetesProvider(`${name}-adopting`, { ...args, ...MUTABLE_DATA, upsertExistingObjects: true }, opts),
    };
}

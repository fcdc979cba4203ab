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
export function kubernetesProvider(name: string, args: k8s.ProviderArgs, opts: import("@pulumi/pulumi").CustomResourceOptions): k8s.Provider {
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

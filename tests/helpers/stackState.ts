// `pulumi stack export` documents, in the shape Pulumi writes them (apitype DeploymentV3), holding only what
// scripts/deployed-cluster.js reads: the stack, the minikube start command or the provider of an existing
// cluster. No outputs on the stack resource: a first `up` that failed half-way writes none.
const stackResource = (stack: string) => ({
    urn: `urn:pulumi:${stack}::istio-minikube::pulumi:pulumi:Stack::istio-minikube-${stack}`,
    custom: false,
    type: "pulumi:pulumi:Stack",
});

function deployment(resources: object[]) {
    return { version: 3, deployment: { manifest: { time: "2026-11-30T00:00:00Z", version: "v3.248.0" }, secrets_providers: { type: "passphrase" }, resources } };
}

/** `startCommand`: more fields of the start command's resource, such as `pendingReplacement: true`. */
export function minikubeState(profile: string, stack = "dev", startCommand: Record<string, unknown> = {}) {
    return deployment([
        stackResource(stack),
        {
            urn: `urn:pulumi:${stack}::istio-minikube::istio-minikube:cluster:MinikubeCluster$command:local:Command::minikube-start`,
            custom: true,
            id: "minikube-start2c1b",
            type: "command:local:Command",
            inputs: {
                create: "bash components/scripts/minikube-start.sh",
                environment: { MINIKUBE_PROFILE: profile, MINIKUBE_DRIVER: "docker" },
            },
            outputs: { stdout: "", stderr: "" },
            ...startCommand,
        },
        {
            urn: `urn:pulumi:${stack}::istio-minikube::istio-minikube:cluster:MinikubeCluster$pulumi:providers:kubernetes::minikube`,
            custom: true,
            type: "pulumi:providers:kubernetes",
            inputs: { context: profile, clusterIdentifier: `minikube/${profile}/minikube-start2c1b` },
        },
    ]);
}

export function existingState(context: string, stack = "cluster") {
    return deployment([
        stackResource(stack),
        {
            urn: `urn:pulumi:${stack}::istio-minikube::istio-minikube:cluster:ExistingCluster$pulumi:providers:kubernetes::cluster`,
            custom: true,
            type: "pulumi:providers:kubernetes",
            inputs: { context, clusterIdentifier: `existing/${context}` },
        },
    ]);
}

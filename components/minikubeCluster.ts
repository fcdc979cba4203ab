import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import { MinikubeSettings } from "./config";
import { scriptCommand } from "./scripts";

export interface MinikubeClusterArgs {
    settings: MinikubeSettings;
}

/** The environment the minikube scripts read; every setting, and nothing else. */
export function minikubeEnvironment(settings: MinikubeSettings): Record<string, string> {
    return {
        MINIKUBE_PROFILE: settings.profile,
        MINIKUBE_DRIVER: settings.driver,
        MINIKUBE_CPUS: String(settings.cpus),
        MINIKUBE_MEMORY_MB: String(settings.memory),
        MINIKUBE_KUBERNETES_VERSION: settings.kubernetesVersion,
        MINIKUBE_EXTRA_CONFIG: settings.extraConfig.join("\n"),
    };
}

/**
 * The settings minikube cannot change on an existing profile (it warns and keeps the old values:
 * minikube v1.38.1 cmd/minikube/cmd/start_flags.go updateExistingConfigFromFlags), so a change to any of
 * them must delete the cluster and create it again.
 */
export function clusterReplacementTriggers(settings: MinikubeSettings): string[] {
    return [
        `profile=${settings.profile}`,
        `driver=${settings.driver}`,
        `cpus=${settings.cpus}`,
        `memory=${settings.memory}`,
        `kubernetesVersion=${settings.kubernetesVersion}`,
        ...settings.extraConfig.map((option) => `extraConfig=${option}`),
    ];
}

/**
 * One minikube profile: started by `pulumi up`, deleted by `pulumi destroy`, replaced (delete first) when a
 * setting minikube cannot change in place changes. Gives the one Kubernetes provider the stack uses.
 */
export class MinikubeCluster extends pulumi.ComponentResource {
    readonly profile: string;
    /** The start command: anything that talks to minikube directly waits for it. */
    readonly started: command.local.Command;
    /** Self-contained kubeconfig of the profile; secret. */
    readonly kubeconfig: pulumi.Output<string>;
    readonly provider: k8s.Provider;
    /** Changes exactly when the cluster is created anew: what reads the cluster re-reads then. */
    readonly clusterIdentity: pulumi.Output<string>;

    constructor(name: string, args: MinikubeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-minikube:cluster:MinikubeCluster", name, {}, opts);
        const { settings } = args;
        this.profile = settings.profile;

        this.started = new command.local.Command(
            `${name}-start`,
            {
                create: scriptCommand("minikube-start.sh"),
                delete: scriptCommand("minikube-delete.sh"),
                environment: minikubeEnvironment(settings),
                triggers: clusterReplacementTriggers(settings),
            },
            // Two clusters of one profile cannot exist side by side: delete the old one first.
            { parent: this, deleteBeforeReplace: true },
        );

        const kubeconfig = new command.local.Command(
            `${name}-kubeconfig`,
            {
                create: scriptCommand("minikube-kubeconfig.sh"),
                environment: { MINIKUBE_PROFILE: settings.profile },
                // A new cluster (new id) means new certificates and address: read again.
                triggers: [this.started.id],
                // The kubeconfig holds the client key: never echo stdout to the console, and never hand
                // the previous one to a re-run through PULUMI_COMMAND_STDOUT.
                logging: "stderr",
                addPreviousOutputInEnv: false,
            },
            { parent: this, dependsOn: [this.started], additionalSecretOutputs: ["stdout"] },
        );
        this.kubeconfig = pulumi.secret(kubeconfig.stdout);

        this.provider = new k8s.Provider(
            name,
            {
                kubeconfig: this.kubeconfig,
                // The provider is replaced (and with it every Kubernetes resource) only when this changes:
                // for a new cluster, not for a restart on a new API port (pulumi-kubernetes provider.go DiffConfig).
                clusterIdentifier: pulumi.interpolate`minikube/${settings.profile}/${this.started.id}`,
                // No deleteUnreachable here: stored in the provider's config it would also drop every
                // object from state on a refresh while minikube is stopped (pulumi-kubernetes provider.go
                // Read). `npm run destroy` sets PULUMI_K8S_DELETE_UNREACHABLE for destroy alone.
            },
            { parent: this },
        );

        this.clusterIdentity = pulumi.interpolate`minikube/${settings.profile}/${this.started.id}`;
        this.registerOutputs({ profile: this.profile, provider: this.provider });
    }
}

import { execFileSync } from "child_process";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import { MinikubeSettings } from "../config";
import { SCRIPTS_DIR, scriptCommand } from "../scripts";
import { clusterProviders } from "./kubernetesProvider";

export interface MinikubeClusterArgs {
    settings: MinikubeSettings;
    /** Adopt objects that already exist instead of failing on them (pulumi-kubernetes 4.29+ fails by default). */
    upsertExistingObjects?: boolean;
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

/** The words components/scripts/minikube-state.sh prints for a profile. */
const PROFILE_STATES = ["running", "stale", "stopped", "missing", "unavailable"] as const;
export type ProfileState = (typeof PROFILE_STATES)[number];

function isProfileState(word: string): word is ProfileState {
    return (PROFILE_STATES as readonly string[]).includes(word);
}

/** What `pulumi preview` says about a stopped profile, before the provider's own "cluster is unreachable". */
export function stoppedProfileMessage(profile: string, stack: string): string {
    return (
        `minikube profile '${profile}' is stopped (nothing was changed). A preview, including the one 'pulumi up' ` +
        `begins with, needs the cluster: the Kubernetes provider renders Istio's charts against it. Start it with ` +
        `'minikube start -p ${profile}', or run 'npm run up -- ${stack}', which starts it and then runs 'pulumi up'.`
    );
}

/**
 * Before anything is registered, brings an existing profile of this stack back through
 * components/scripts/minikube-resume.sh: a stale kubeconfig context (the docker driver publishes the API
 * server on a new host port at every start) is rewritten, in a preview too, since it only points the
 * profile's context at its running cluster; a stopped profile (a reboot, `minikube stop`) is started by an
 * update that runs without a preview (`pulumi up --skip-preview`), and stops a preview with advice instead,
 * because a preview changes nothing and the provider cannot render the charts against a stopped cluster
 * (pulumi-kubernetes provider_construct.go Construct refuses while the cluster is unreachable).
 * A missing profile is left to the start command (a first `up`).
 */
export function resumeProfile(
    profile: string,
    opts: { dryRun: boolean; stack: string; projectDir?: string; env?: NodeJS.ProcessEnv },
): ProfileState {
    const projectDir = opts.projectDir ?? process.cwd();
    let stdout: string;
    let failed = false;
    try {
        stdout = execFileSync("bash", [path.join(projectDir, SCRIPTS_DIR, "minikube-resume.sh")], {
            // A preview only learns that the profile is stopped; it starts nothing.
            env: { ...(opts.env ?? process.env), MINIKUBE_PROFILE: profile, MINIKUBE_RESUME_STOPPED: opts.dryRun ? "report" : "start" },
            encoding: "utf8",
            // minikube's progress goes to the console as it comes; stdout is the state the script found.
            stdio: ["ignore", "pipe", "inherit"],
        });
    } catch (err) {
        stdout = String((err as { stdout?: string }).stdout ?? "");
        failed = true;
    }
    const state = stdout.split("\n")[0].trim();
    if (!isProfileState(state)) {
        throw new pulumi.RunError(`could not ask minikube about profile '${profile}': minikube-state.sh printed ${JSON.stringify(state)}`);
    }
    if (failed) {
        throw new pulumi.RunError(
            `could not bring back the ${state} minikube profile '${profile}' (see minikube's output above); ` +
                `run 'minikube start -p ${profile}' by hand and then 'pulumi up' again`,
        );
    }
    if (state === "stopped" && opts.dryRun) throw new pulumi.RunError(stoppedProfileMessage(profile, opts.stack));
    return state === "stopped" || state === "stale" ? "running" : state;
}

/**
 * One minikube profile: started by `pulumi up`, deleted by `pulumi destroy`, replaced (delete first) when a
 * setting minikube cannot change in place changes. Gives the one Kubernetes provider the stack uses.
 *
 * The provider is bound to the profile's kubeconfig context, the one minikube writes and keeps current
 * at every start (pkg/minikube/node/start.go setupKubeconfig), and reads it when it runs: no address, port or
 * key is kept in state, so a restart on a new port changes nothing in the stack. Its clusterIdentifier
 * (profile + the start command's id) is what replaces it, and every object through it, for a new cluster.
 */
export class MinikubeCluster extends pulumi.ComponentResource {
    readonly profile: string;
    /** The start command: anything that talks to minikube directly waits for it. */
    readonly started: command.local.Command;
    readonly provider: k8s.Provider;
    /** The same cluster, for Istio's base chart: adopts the CRDs an earlier destroy of this stack kept. */
    readonly adoptingProvider: k8s.Provider;
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

        // The value is profile + start id, as it always was; it also waits for the start command's stdout.
        // That is unknown in a preview that is about to create the cluster (pulumi-command 1.2.1
        // local/commandController.go Create returns an id but no outputs in a preview), and the engine does
        // not configure a provider while any of its inputs is unknown, so it skips Construct of the Istio
        // charts instead of asking the provider to render them against a cluster that does not exist yet
        // (pulumi/pulumi sdk/go/common/resource/plugin/provider_plugin.go v3.248.0, Configure and Construct:
        // `if !pcfg.known`). With the cluster in state, the stdout is known and previews render real diffs.
        this.clusterIdentity = pulumi
            .all([this.started.id, this.started.stdout])
            .apply(([startId]) => `minikube/${settings.profile}/${startId}`);
        ({ provider: this.provider, adoptingProvider: this.adoptingProvider } = clusterProviders(
            name,
            {
                // minikube names the context after the profile (pkg/minikube/kubeconfig/settings.go PopulateFromSettings).
                context: settings.profile,
                // The provider is replaced only when this changes (pulumi-kubernetes provider.go DiffConfig).
                clusterIdentifier: this.clusterIdentity,
                // No deleteUnreachable here: stored in the provider's config it would also drop every
                // object from state on a refresh while minikube is stopped (pulumi-kubernetes provider.go
                // Read). `npm run destroy` sets PULUMI_K8S_DELETE_UNREACHABLE for destroy alone.
                ...(args.upsertExistingObjects ? { upsertExistingObjects: true } : {}),
            },
            { parent: this, dependsOn: [this.started] },
        ));

        this.registerOutputs({ profile: this.profile, provider: this.provider });
    }
}

// What `pulumi up` and `pulumi preview` do on the host before any resource is registered, in order: the
// tools check, bringing the stack's minikube profile back, and the check for an Istio this stack did not
// install. index.ts calls it; the offline plan does not (it runs nothing on the host).
import { StackSettings } from "./config";
import { runPreflight } from "./preflight";
import { ProfileState, resumeProfile } from "./minikubeCluster";
import { ExistingIstio, Kubectl, ownerLabelValue, refuseForeignIstio } from "./existingIstio";
import { kubeContextOf } from "./verification";

export interface HostPreparation {
    /** The minikube profile's state after this (minikube stacks only). */
    profile?: ProfileState;
    /** What the existing-Istio check found; undefined when it did not run. */
    existingIstio?: ExistingIstio["status"];
}

export interface HostPreparationOptions {
    dryRun: boolean;
    project: string;
    stack: string;
    projectDir?: string;
    env?: NodeJS.ProcessEnv;
    /** For tests: the tools check and kubectl. */
    preflight?: (settings: StackSettings) => void;
    kubectl?: Kubectl;
    warn?: (message: string) => void;
}

export function prepareHost(settings: StackSettings, opts: HostPreparationOptions): HostPreparation {
    (opts.preflight ?? ((s: StackSettings) => runPreflight(s, opts.projectDir)))(settings);
    const result: HostPreparation = {};
    if (settings.cluster.kind === "minikube") {
        result.profile = resumeProfile(settings.cluster.minikube.profile, { dryRun: opts.dryRun, stack: opts.stack, projectDir: opts.projectDir, env: opts.env });
    }
    // Only a cluster that runs can be asked; a minikube profile that does not exist yet holds nothing. With
    // upsertExistingObjects the user chose to adopt what is there.
    const reachable = result.profile === undefined || result.profile === "running";
    if (reachable && !settings.upsertExistingObjects) {
        result.existingIstio = refuseForeignIstio({
            context: kubeContextOf(settings),
            owner: ownerLabelValue(opts.project, opts.stack),
            stack: opts.stack,
            dryRun: opts.dryRun,
            kubectl: opts.kubectl,
            warn: opts.warn,
        }).status;
    }
    return result;
}

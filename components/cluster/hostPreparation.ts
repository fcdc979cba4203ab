// What `pulumi up` and `pulumi preview` do on the host before any resource is registered, in order: the
// tools check, bringing the stack's minikube profile back, and the check for an Istio this stack did not
// install. index.ts calls it; the offline plan does not (it runs nothing on the host).
import * as pulumi from "@pulumi/pulumi";
import { StackSettings } from "../config";
import { runPreflight } from "./preflight";
import { ProfileState, resumeProfile } from "./minikubeCluster";
import { ExistingIstio, Kubectl, ownerLabelValue, refuseForeignIstio } from "../istio/existingIstio";
import { kubeContextOf } from "../verify/verification";
import { requireKubeContext } from "./kubeContext";

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
    /** For tests: the tools check, kubectl, and the kubeconfig's context names. */
    preflight?: (settings: StackSettings) => void;
    kubectl?: Kubectl;
    listContexts?: (env: NodeJS.ProcessEnv) => string[];
    warn?: (message: string) => void;
}

/** What a preview says when the stack's minikube profile is yet to be created (a first `pulumi up`). */
export function missingProfilePreviewMessage(profile: string): string {
    return (
        `minikube profile '${profile}' does not exist yet: 'pulumi up' starts it first. Until it runs, the Kubernetes ` +
        `provider cannot render Istio's charts, so this preview lists the istio-base and istiod charts without the ` +
        `objects in them (and the samples without theirs); everything else is listed as 'pulumi up' will create it.`
    );
}

export function prepareHost(settings: StackSettings, opts: HostPreparationOptions): HostPreparation {
    (opts.preflight ?? ((s: StackSettings) => runPreflight(s, opts.projectDir)))(settings);
    const result: HostPreparation = {};
    const warn = opts.warn ?? ((m: string) => pulumi.log.warn(m));
    if (settings.cluster.kind === "minikube") {
        const { profile } = settings.cluster.minikube;
        result.profile = resumeProfile(profile, { dryRun: opts.dryRun, stack: opts.stack, projectDir: opts.projectDir, env: opts.env });
        if (result.profile === "missing" && opts.dryRun) warn(missingProfilePreviewMessage(profile));
    } else {
        requireKubeContext(settings.cluster.kubeContext, { env: opts.env, listContexts: opts.listContexts, warn });
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
            warn,
        }).status;
    }
    return result;
}

// An existing cluster is reached through a context of the user's kubeconfig. A context that is not there
// would surface deep in the run, as the Kubernetes provider failing to render Istio's charts; the program
// looks first and stops before anything, naming what it read and what it found.
import { execFileSync } from "child_process";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { firstLine } from "../istio/existingIstio";

/** The kubeconfig files kubectl and the provider read: $KUBECONFIG's list, else ~/.kube/config (client-go clientcmd loading rules). */
export function kubeconfigFiles(env: NodeJS.ProcessEnv = process.env): string[] {
    const listed = (env.KUBECONFIG ?? "").split(path.delimiter).filter(Boolean);
    return listed.length > 0 ? listed : [path.join(env.HOME || os.homedir(), ".kube", "config")];
}

export function missingContextMessage(context: string, files: string[], contexts: string[]): string {
    return (
        `The kubeconfig context '${context}' (config kubeContext) is not in ${files.join(", ")} (nothing was changed). ` +
        (contexts.length > 0 ? `The contexts there are: ${contexts.join(", ")}. ` : "There are no contexts there. ") +
        `Set one of them with 'pulumi config set kubeContext NAME', or point KUBECONFIG at the file that has '${context}'.`
    );
}

/** The context names of the merged kubeconfig, as kubectl lists them. */
export function listKubeContexts(env: NodeJS.ProcessEnv = process.env): string[] {
    return execFileSync("kubectl", ["config", "get-contexts", "--output=name"], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 })
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean);
}

/**
 * Stops the program when `context` is not in the kubeconfig. When the contexts cannot be listed (kubectl
 * missing or the file unreadable: the tools check reports kubectl), it only warns and lets the provider say.
 */
export function requireKubeContext(
    context: string,
    opts: { env?: NodeJS.ProcessEnv; listContexts?: (env: NodeJS.ProcessEnv) => string[]; warn?: (message: string) => void } = {},
): void {
    const env = opts.env ?? process.env;
    let contexts: string[];
    try {
        contexts = (opts.listContexts ?? listKubeContexts)(env);
    } catch (err) {
        const reason = firstLine(err);
        (opts.warn ?? ((m: string) => pulumi.log.warn(m)))(`Could not list the kubeconfig contexts (${reason}); going on without checking that '${context}' is there.`);
        return;
    }
    if (!contexts.includes(context)) throw new pulumi.RunError(missingContextMessage(context, kubeconfigFiles(env), contexts));
}

import { execFileSync } from "child_process";
import * as pulumi from "@pulumi/pulumi";
import { MinikubeDriver, StackSettings } from "../config";
import { SCRIPTS_DIR } from "../scripts";
import * as path from "path";

/** The host tool that shows a minikube driver can work (minikube pkg/minikube/registry/drvs/<driver> status()). */
export const DRIVER_TOOLS: Record<MinikubeDriver, string> = {
    kvm2: "virsh",
    docker: "docker",
    podman: "podman",
    qemu2: "qemu-system-x86_64",
    virtualbox: "VBoxManage",
    vfkit: "vfkit",
};

/** Every host tool `pulumi up` will run for these settings, in a stable order. */
export function requiredTools(settings: StackSettings, platform: NodeJS.Platform = process.platform): string[] {
    // The release checksum: sha256sum on Linux, shasum on macOS (components/scripts/istio-release.sh).
    const tools = ["kubectl", "curl", "tar", platform === "darwin" ? "shasum" : "sha256sum"];
    if (settings.cluster.kind === "minikube") {
        tools.push("minikube", DRIVER_TOOLS[settings.cluster.minikube.driver]);
        if (settings.images.preload) tools.push("docker", "xz");
    }
    return [...new Set(tools)];
}

/** What preflight.sh is told about the cluster: its Kubernetes version, where the stack decides it (kubectl's minimum). */
export function preflightEnvironment(settings: StackSettings): Record<string, string | undefined> {
    return { PREFLIGHT_KUBERNETES_VERSION: settings.cluster.kind === "minikube" ? settings.cluster.minikube.kubernetesVersion : undefined };
}

/** Runs the preflight script; `projectDir` is where Pulumi runs the program. */
export function checkTools(tools: string[], projectDir: string, env: NodeJS.ProcessEnv = process.env): { ok: boolean; report: string } {
    try {
        const report = execFileSync("bash", [path.join(projectDir, SCRIPTS_DIR, "preflight.sh")], {
            env: Object.fromEntries(Object.entries({ ...env, PREFLIGHT_TOOLS: tools.join(" ") }).filter(([, v]) => v !== undefined)),
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });
        return { ok: true, report: report.trim() };
    } catch (err) {
        const failed = err as { stdout?: string; stderr?: string };
        return { ok: false, report: `${failed.stdout ?? ""}${failed.stderr ?? ""}`.trim() };
    }
}

/**
 * On `pulumi up`, stops the program before any resource is registered when a tool is missing, with one
 * message listing each missing tool and how to get it. `pulumi preview` only warns: it runs none of them.
 */
export function runPreflight(settings: StackSettings, projectDir: string = process.cwd()): void {
    const result = checkTools(requiredTools(settings), projectDir, { ...process.env, ...preflightEnvironment(settings) });
    if (result.ok) return;
    if (pulumi.runtime.isDryRun()) {
        pulumi.log.warn(`${result.report}\n('pulumi up' will stop here until these are installed.)`);
        return;
    }
    throw new pulumi.RunError(result.report);
}

// A bounded probe of pod admission while something else runs (a rotation's `up`): it creates a bare pod in
// an injected namespace every `intervalMs`, at most `maxAttempts` times, and sorts each outcome by cause.
// With failurePolicy Fail, the API server refuses a pod whenever its call to istiod's /inject fails, and its
// message says why (k8s.io/apiserver pkg/admission/plugin/webhook/errors: "failed calling webhook ... : Post
// ...: <the dial or TLS error>"):
// - "x509: certificate signed by unknown authority": the webhook's caBundle does not hold the root of the
//   certificate istiod presents. The program's fault: what a rotation must never cause.
// - "connection refused": nothing answers behind Service istiod, or a call was cut off ("EOF", "connection
//   reset by peer"): the harness's own gap (its istiod rolls with surge, one always serving, so it should
//   stay 0), counted apart and printed, never hidden.
// Anything else is counted under its first line.
import { spawn } from "child_process";
import * as path from "path";
import { LocalCluster, TOKEN } from "./localCluster";

export const UNKNOWN_AUTHORITY = "x509: certificate signed by unknown authority";
export const CONNECTION_REFUSED = "connection refused";

export interface ProbeResult {
    attempts: number;
    injected: number;
    /** Created without istio-proxy: the webhook did not run at all. */
    notInjected: number;
    /** Refusals by cause: UNKNOWN_AUTHORITY, CONNECTION_REFUSED, or the first line of any other message. */
    refused: Record<string, number>;
    /** One message of each cause, as the API server gave it. */
    examples: Record<string, string>;
}

/** Refusals the program is answerable for: every cause but the harness's own gap. */
export function programRefusals(result: ProbeResult): number {
    return Object.entries(result.refused)
        .filter(([cause]) => cause !== CONNECTION_REFUSED)
        .reduce((sum, [, n]) => sum + n, 0);
}

/**
 * A call cut off by the server going away (an istiod stopped with the API server's request in flight). The
 * harness's gap too, counted with "connection refused".
 */
const CUT_OFF = [": EOF", "connection reset by peer"];

export function causeOf(message: string): string {
    if (message.includes(UNKNOWN_AUTHORITY)) return UNKNOWN_AUTHORITY;
    if (message.includes(CONNECTION_REFUSED) || CUT_OFF.some((m) => message.includes(m))) return CONNECTION_REFUSED;
    // The dial or TLS error ends the API server's message: keep the end.
    return message.trim().split("\n")[0].slice(-200);
}

/** kubectl in the cluster's namespace, without blocking the event loop (the `up` it watches runs beside it). */
function kubectl(cluster: LocalCluster, bin: string, args: string[], input?: string): Promise<{ status: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn(
            "ip",
            ["netns", "exec", cluster.namespace, path.join(bin, "kubectl"), "--server=https://127.0.0.1:6443", `--token=${TOKEN}`, "--insecure-skip-tls-verify=true", "--request-timeout=20s", ...args],
            { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, KUBECONFIG: path.join(cluster.dir, "no-kubeconfig") } },
        );
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (status) => resolve({ status: status ?? 1, stdout, stderr }));
        child.stdin.end(input ?? "");
    });
}

export function startPodProbe(cluster: LocalCluster, bin: string, namespace: string, opts: { prefix: string; intervalMs?: number; maxAttempts?: number }): { stop(): Promise<ProbeResult> } {
    const intervalMs = opts.intervalMs ?? 500;
    const maxAttempts = opts.maxAttempts ?? 1200;
    const result: ProbeResult = { attempts: 0, injected: 0, notInjected: 0, refused: {}, examples: {} };
    const inFlight: Promise<void>[] = [];
    const attempt = async (name: string) => {
        const pod = { apiVersion: "v1", kind: "Pod", metadata: { name, namespace }, spec: { containers: [{ name: "app", image: "docker.io/curlimages/curl:8.16.0" }] } };
        const created = await kubectl(cluster, bin, ["create", "-f", "-", "-o", "json"], JSON.stringify(pod));
        if (created.status !== 0) {
            const cause = causeOf(created.stderr);
            result.refused[cause] = (result.refused[cause] ?? 0) + 1;
            result.examples[cause] ??= created.stderr.trim();
            return;
        }
        const containers = (JSON.parse(created.stdout) as { spec: { containers: { name: string }[]; initContainers?: { name: string }[] } }).spec;
        const names = [...(containers.initContainers ?? []), ...containers.containers].map((c) => c.name);
        if (names.includes("istio-proxy")) result.injected++;
        else result.notInjected++;
        await kubectl(cluster, bin, ["delete", "pod", name, `--namespace=${namespace}`, "--wait=false"]);
    };
    const timer = setInterval(() => {
        if (result.attempts >= maxAttempts) return;
        result.attempts++;
        inFlight.push(attempt(`${opts.prefix}-${result.attempts}`));
    }, intervalMs);
    return {
        async stop() {
            clearInterval(timer);
            await Promise.all(inFlight);
            return result;
        },
    };
}

/** One line for the test's output: the outcomes, the harness's gap apart. */
export function probeLine(label: string, result: ProbeResult): string {
    const gap = result.refused[CONNECTION_REFUSED] ?? 0;
    const others = Object.entries(result.refused).filter(([cause]) => cause !== CONNECTION_REFUSED);
    return (
        `${label}: ${result.attempts} pods created every 0.5 s: ${result.injected} injected, ${result.notInjected} not injected, ` +
        `${programRefusals(result)} refused by the program${others.length ? ` (${others.map(([c, n]) => `${n}× ${c}`).join("; ")})` : ""}; ` +
        `harness gap (no istiod answering, "${CONNECTION_REFUSED}"): ${gap}`
    );
}

// A bounded probe of pod admission while something else runs (a rotation step's `up`): it creates a bare pod
// in an injected namespace every `intervalMs`, at most `maxAttempts` times, and sorts each outcome by cause.
// With failurePolicy Fail, the API server refuses a pod whenever its call to istiod's /inject fails, and its
// message says why (k8s.io/apiserver pkg/admission/plugin/webhook/errors: "failed calling webhook ... : Post
// ...: <the dial or TLS error>"), e.g. "x509: certificate signed by unknown authority" (the caBundle does not
// hold the root of the certificate istiod presents), "connection refused" (no ready istiod behind the
// Service), "EOF" (a connection cut). Every refusal counts against the program: istiod is the program's
// Deployment, rolled by the Deployment controller and reached through kube-proxy as on a cluster. A cause
// that lies outside both the program and a cluster would be listed in OUTSIDE_THE_PROGRAM with the source
// that shows it, printed apart and still asserted; there is none.
// The pods run an image the tier does not stand in for (kwok's alone): the question is admission.
import { PAUSE_IMAGE } from "./images";
import { LocalCluster } from "./localCluster";
import { kubectlAsync } from "./tierServices";

export const UNKNOWN_AUTHORITY = "x509: certificate signed by unknown authority";

/** Causes that are neither the program's nor a cluster's, each with why (none is known). */
export const OUTSIDE_THE_PROGRAM: Record<string, string> = {};

export interface ProbeResult {
    attempts: number;
    injected: number;
    /** Created without istio-proxy: the webhook did not run at all. */
    notInjected: number;
    /** Refusals by cause: UNKNOWN_AUTHORITY, or the end of the message (where the error is). */
    refused: Record<string, number>;
    /** One message of each cause, as the API server gave it. */
    examples: Record<string, string>;
}

/** Refusals the program is answerable for: every cause but those OUTSIDE_THE_PROGRAM names. */
export function programRefusals(result: ProbeResult): number {
    return Object.entries(result.refused)
        .filter(([cause]) => !(cause in OUTSIDE_THE_PROGRAM))
        .reduce((sum, [, n]) => sum + n, 0);
}

export function causeOf(message: string): string {
    if (message.includes(UNKNOWN_AUTHORITY)) return UNKNOWN_AUTHORITY;
    // The dial or TLS error ends the API server's message: keep the end.
    return message.trim().split("\n")[0].slice(-200);
}

export interface PodProbe {
    stop(): Promise<ProbeResult>;
}

export function startPodProbe(cluster: LocalCluster, namespace: string, opts: { prefix: string; intervalMs?: number; maxAttempts?: number }): PodProbe {
    const intervalMs = opts.intervalMs ?? 500;
    const maxAttempts = opts.maxAttempts ?? 1200;
    const result: ProbeResult = { attempts: 0, injected: 0, notInjected: 0, refused: {}, examples: {} };
    const inFlight: Promise<void>[] = [];
    const attempt = async (name: string) => {
        const pod = { apiVersion: "v1", kind: "Pod", metadata: { name, namespace }, spec: { containers: [{ name: "app", image: PAUSE_IMAGE }] } };
        const created = await kubectlAsync(cluster, ["create", "-f", "-", "-o", "json"], JSON.stringify(pod));
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
        await kubectlAsync(cluster, ["delete", "pod", name, `--namespace=${namespace}`, "--wait=false"]);
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

/**
 * Runs `operation` under a probe started by `start`, and stops the probe whatever the operation does: a
 * failed `up` leaves no probe creating pods into the tests that follow. The operation's error, if any, is
 * thrown once the probe has stopped.
 */
export async function underProbe<P, T>(start: () => { stop(): Promise<P> }, operation: () => Promise<T>): Promise<{ value: T; probe: P }> {
    const probe = start();
    let value: T;
    try {
        value = await operation();
    } catch (err) {
        await probe.stop();
        throw err;
    }
    return { value, probe: await probe.stop() };
}

/** The probe's lines for the test's output: the outcomes, then one example of each refusal's cause. */
export function probeLines(label: string, result: ProbeResult, intervalMs = 500): string[] {
    const causes = Object.entries(result.refused).map(([cause, n]) => `${n}× ${cause}${cause in OUTSIDE_THE_PROGRAM ? ` (outside the program: ${OUTSIDE_THE_PROGRAM[cause]})` : ""}`);
    return [
        `${label}: ${result.attempts} pods created every ${intervalMs / 1000} s: ${result.injected} injected, ${result.notInjected} not injected, ` +
            `${programRefusals(result)} refused by the program${causes.length ? ` (${causes.join("; ")})` : ""}`,
        ...Object.entries(result.examples).map(([cause, example]) => `  example of ${cause}: ${example.replace(/\s+/g, " ").slice(0, 400)}`),
    ];
}

// istiod in the tier is what the program deploys: the pods of its Deployment, run by the tier's kubelet
// (localCluster.ts), rolled by the Deployment controller when the program changes the pod template, Ready
// from the chart's readiness probe, reached through Service istiod by kube-proxy. The suites only watch it:
// which ReplicaSets came and how many istiod pods were Ready (and not terminating) at each moment of an
// `up`, sampled every 200 ms.
import { LocalCluster } from "./localCluster";
import { kubectlAsync } from "./tierServices";

export interface IstiodRoll {
    /** ReplicaSets of istiod that did not exist when the watch began: one per roll. */
    newReplicaSets: string[];
    /** The fewest Ready istiod pods (Ready, not terminating) seen at any sample. */
    minReadyPods: number;
    samples: number;
}

type PodList = { items: { metadata: { labels?: Record<string, string>; deletionTimestamp?: string }; status?: { conditions?: { type: string; status: string }[] } }[] };

async function replicaSets(cluster: LocalCluster): Promise<string[]> {
    const got = await kubectlAsync(cluster, ["get", "replicasets", "--namespace=istio-system", "--selector=app=istiod", "-o", "name"]);
    return got.status === 0 ? got.stdout.split("\n").filter(Boolean) : [];
}

export async function watchIstiod(cluster: LocalCluster): Promise<{ stop(): Promise<IstiodRoll> }> {
    const before = new Set(await replicaSets(cluster));
    let minReadyPods = Infinity;
    let samples = 0;
    let stopped = false;
    const loop = (async () => {
        while (!stopped) {
            const got = await kubectlAsync(cluster, ["get", "pods", "--namespace=istio-system", "--selector=app=istiod", "-o", "json"]);
            if (got.status === 0) {
                const ready = (JSON.parse(got.stdout) as PodList).items.filter(
                    (p) => !p.metadata.deletionTimestamp && (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
                ).length;
                minReadyPods = Math.min(minReadyPods, ready);
                samples++;
            }
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
    })();
    return {
        async stop() {
            stopped = true;
            await loop;
            return { newReplicaSets: (await replicaSets(cluster)).filter((rs) => !before.has(rs)), minReadyPods, samples };
        },
    };
}

/**
 * Makes istiod stop answering without removing anything, as a hung control plane does: its process is
 * stopped (SIGSTOP, as `docker pause` freezes a container), so its readiness probe fails and kube-proxy takes
 * it out of Service istiod; `resume` continues it. From the node, by the process the tier's kubelet reports as
 * the container (its containerID, tier://<pid>): a signal from inside the container could not stop its
 * PID 1, which the kernel shields from signals it has no handler for.
 */
export function pauseIstiod(cluster: LocalCluster, resume = false): void {
    const pods = JSON.parse(cluster.kubectl(["get", "pods", "--namespace=istio-system", "--selector=app=istiod", "-o", "json"]).stdout) as {
        items: { metadata: { name: string; deletionTimestamp?: string }; status?: { containerStatuses?: { name: string; containerID?: string }[] } }[];
    };
    for (const pod of pods.items) {
        if (pod.metadata.deletionTimestamp) continue;
        const id = pod.status?.containerStatuses?.find((c) => c.name === "discovery")?.containerID ?? "";
        const pid = /^tier:\/\/(\d+)$/.exec(id)?.[1];
        if (!pid) throw new Error(`istiod pod ${pod.metadata.name} reports no process of the tier's kubelet (${id})`);
        process.kill(Number(pid), resume ? "SIGCONT" : "SIGSTOP");
    }
}

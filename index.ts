// Wiring only: read the stack's settings, check the host, create the components, export the outputs.
import * as pulumi from "@pulumi/pulumi";
import { parseSettings } from "./components/config";
import { runPreflight } from "./components/preflight";
import { MinikubeCluster } from "./components/minikubeCluster";
import { ExistingCluster } from "./components/existingCluster";

const settings = parseSettings(pulumi.runtime.allConfig(), pulumi.getStack());
if (process.env.ISTIO_MINIKUBE_SKIP_PREFLIGHT !== "1") runPreflight(settings);

const cluster =
    settings.cluster.kind === "minikube"
        ? new MinikubeCluster("minikube", { settings: settings.cluster.minikube })
        : new ExistingCluster("cluster", { kubeContext: settings.cluster.kubeContext });

export const clusterKind = settings.cluster.kind;
export const minikubeProfile = cluster instanceof MinikubeCluster ? cluster.profile : null;
export const kubeContext = cluster instanceof MinikubeCluster ? cluster.profile : settings.cluster.kind === "existing" ? settings.cluster.kubeContext : null;
/** Secret: `pulumi stack output kubeconfig --show-secrets`. */
export const kubeconfig = cluster instanceof MinikubeCluster ? cluster.kubeconfig : null;

// tsx scripts/stack-cluster.ts STACK: the cluster the stack's config file names, as two lines: the kind
// (minikube or existing), then the minikube profile (the derived default included) or the kubeconfig
// context. scripts/up.sh asks it when the stack's state holds no cluster yet (a first `up` interrupted
// during `minikube start`, a stack removed with its profile left behind), to start a stopped profile the
// same way. A config the program would refuse prints nothing and exits 1: `pulumi up` reports it in full.
import * as path from "path";
import { parseSettings } from "../components/config";
import { kubeContextOf } from "../components/verify/verification";
import { readStackConfig } from "./offline-plan";

try {
    const stack = process.argv[2] ?? "";
    const projectDir = path.resolve(__dirname, "..");
    const { config } = readStackConfig({ projectDir, stack });
    const settings = parseSettings(config, stack, { homeDir: process.env.HOME ?? "", projectDir });
    process.stdout.write(`${settings.cluster.kind}\n${kubeContextOf(settings)}\n`);
} catch {
    process.exit(1);
}

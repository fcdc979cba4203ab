// Reads `pulumi stack export` on stdin and prints the cluster the stack's state says it deployed to, as two
// lines: the kind (minikube or existing; empty when nothing is deployed) and the minikube profile or the
// kubeconfig context. The state, not the config file, which may have changed since, and not the outputs,
// which a first `up` that failed half-way never wrote. Used by scripts/up.sh and scripts/destroy.sh.
"use strict";

/** @param {unknown} exported the parsed `pulumi stack export` document */
function deployedCluster(exported) {
    const resources = (exported && exported.deployment && exported.deployment.resources) || [];
    const start = resources.find((r) => r.type === "command:local:Command" && /::minikube-start$/.test(r.urn || ""));
    if (start) {
        const profile = start.inputs && start.inputs.environment && start.inputs.environment.MINIKUBE_PROFILE;
        return { kind: "minikube", name: typeof profile === "string" ? profile : "" };
    }
    const provider = resources.find((r) => r.type === "pulumi:providers:kubernetes" && r.inputs && typeof r.inputs.context === "string");
    if (provider) return { kind: "existing", name: provider.inputs.context };
    return { kind: "", name: "" };
}

if (require.main === module) {
    let text = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => (text += chunk));
    process.stdin.on("end", () => {
        let exported;
        try {
            exported = JSON.parse(text || "{}");
        } catch {
            console.error("istio-minikube: `pulumi stack export` did not print JSON");
            process.exit(1);
        }
        const { kind, name } = deployedCluster(exported);
        process.stdout.write(`${kind}\n${name}\n`);
    });
}

module.exports = { deployedCluster };

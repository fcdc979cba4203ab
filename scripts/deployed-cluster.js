// Reads `pulumi stack export` on stdin and prints the cluster the stack's state says it deployed to, as three
// lines: the kind (minikube or existing; empty when nothing is deployed), the minikube profile or the
// kubeconfig context, and "replacing" when that profile is being replaced (the old one already deleted by a
// delete-before-replace whose new start has not succeeded yet: the engine keeps it in state marked
// pendingReplacement, pkg/resource/deploy/step.go) or nothing. The state, not the config file, which may have changed since, and not the outputs,
// which a first `up` that failed half-way never wrote. Used by scripts/up.sh and scripts/destroy.sh.
"use strict";

/** @param {unknown} exported the parsed `pulumi stack export` document */
function deployedCluster(exported) {
    const resources = (exported && exported.deployment && exported.deployment.resources) || [];
    // Resources marked `delete` are old copies waiting for deletion; they say nothing about the current cluster.
    const live = resources.filter((r) => !r.delete);
    const start = live.find((r) => r.type === "command:local:Command" && /\$command:local:Command::minikube-start$/.test(r.urn || ""));
    if (start) {
        const profile = start.inputs && start.inputs.environment && start.inputs.environment.MINIKUBE_PROFILE;
        return { kind: "minikube", name: typeof profile === "string" ? profile : "", replacing: Boolean(start.pendingReplacement) };
    }
    const provider = live.find(
        (r) => r.type === "pulumi:providers:kubernetes" && /:ExistingCluster\$pulumi:providers:kubernetes::/.test(r.urn || "") && r.inputs && typeof r.inputs.context === "string",
    );
    if (provider) return { kind: "existing", name: provider.inputs.context, replacing: false };
    return { kind: "", name: "", replacing: false };
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
        const { kind, name, replacing } = deployedCluster(exported);
        process.stdout.write(`${kind}\n${name}\n${replacing ? "replacing" : ""}\n`);
    });
}

module.exports = { deployedCluster };

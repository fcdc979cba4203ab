// Pending operations an interrupted run left in the stack's state, for npm run up and npm run destroy.
//
// The engine writes an operation as pending before it calls the provider and removes it when the call returns
// (pulumi/pulumi pkg/backend/snapshot.go, markOperationPending), so a killed run leaves its in-flight
// operations in `pending_operations` of `pulumi stack export`, each with the resource's goal inputs (no id,
// no outputs). Updates, deletes and reads are dropped by the next run's first state write; creates are copied
// into every later state forever (snapshot.go: "we don't want to clear pending CREATE operations because these
// must require user intervention"), through up, refresh and destroy, even after a later `up` has created the
// same resource: every later `up` warns "Attempting to deploy or update resources with N pending operations
// from previous deployment". Only `pulumi refresh --clear-pending-creates` (or its interactive prompt) and
// `pulumi stack import` clear them; stack import drops every pending operation of what it imports, saying
// "removing pending operation 'creating' on '<urn>' from snapshot" for each (pkg/cmd/pulumi/stack/io.go
// SaveSnapshot), whatever the file holds.
//
// So after an `up` that succeeded, a pending create whose resource is now in the state is settled: that up
// created it again, or took over the object the killed run had made (scripts/up.sh lets the provider adopt
// for that one run). When every pending operation is settled, the state is imported again without them. One
// that is not (its resource is not in the state: the program no longer declares it) may have left an object
// in the cluster that nothing tracks: it is named, with what to do, and the state is kept as it is.
//
//   node scripts/pending-operations.js before STACK up|destroy < export   a note on stderr; stdout: none | pending | kubernetes
//   node scripts/pending-operations.js after up|destroy STACK CONTEXT WAS_MINIKUBE OUT < export
//        a report on stderr; stdout: none | import (OUT holds the export without them) | keep
"use strict";
const fs = require("fs");

/** @param {any} exported `pulumi stack export` */
function pendingOperations(exported) {
    const ops = exported && exported.deployment && exported.deployment.pending_operations;
    return Array.isArray(ops) ? ops.filter((op) => op && op.resource && typeof op.resource.urn === "string") : [];
}

function liveResources(exported) {
    const resources = (exported && exported.deployment && exported.deployment.resources) || [];
    // Resources marked `delete` are old copies waiting for deletion.
    return resources.filter((r) => r && !r.delete && typeof r.urn === "string");
}

const MINIKUBE_START = /\$command:local:Command::minikube-start$/;

/** A Kubernetes object of the provider (not a provider, not a component such as a Chart or ConfigGroup). */
function isKubernetesObject(resource) {
    return typeof resource.type === "string" && resource.type.startsWith("kubernetes:") && resource.custom !== false;
}

/**
 * The operation as a person reads it: a Kubernetes object by kind, namespace and name (from its inputs),
 * the minikube start command by its profile, anything else by type and name.
 */
function describeOperation(op) {
    const r = op.resource;
    const name = r.urn.split("::").pop();
    const inputs = r.inputs || {};
    if (isKubernetesObject(r)) {
        const metadata = inputs.metadata && typeof inputs.metadata === "object" ? inputs.metadata : {};
        const objectName = typeof metadata.name === "string" ? metadata.name : name;
        const namespace = typeof metadata.namespace === "string" ? metadata.namespace : "";
        const kind = typeof inputs.kind === "string" ? inputs.kind : r.type.split(":").pop();
        return { kubernetes: { kind, name: objectName, namespace }, text: `${kind} ${namespace ? `${namespace}/` : ""}${objectName}` };
    }
    const profile = inputs.environment && typeof inputs.environment.MINIKUBE_PROFILE === "string" ? inputs.environment.MINIKUBE_PROFILE : undefined;
    if (MINIKUBE_START.test(r.urn) && profile) return { profile, text: `the start of minikube profile ${profile} (${r.type} ${name})` };
    return { text: `${r.type} ${name}` };
}

/**
 * Which pending operations are settled after a run that succeeded. Pure.
 * - after `up`: a create whose resource is in the state now (created again, or adopted); any other
 *   operation (update, delete, read, import), which the engine drops at its next state write by itself.
 * - after `destroy`: what can have left nothing behind: a Kubernetes object or the minikube start when the
 *   stack's minikube profile went with the destroy (`wasMinikube` and no start command left in the state);
 *   a resource still in the state (a targeted destroy: it stays tracked); and the stack's other resources
 *   (commands whose leftovers are files in the project's caches, the certificates), which are nowhere else.
 * @param {any} exported `pulumi stack export` after the run
 * @param {{ after: "up" | "destroy", wasMinikube?: boolean }} run
 */
function reconcile(exported, run) {
    const live = liveResources(exported);
    const inState = new Set(live.map((r) => r.urn));
    const clusterGone = run.after === "destroy" && Boolean(run.wasMinikube) && !live.some((r) => MINIKUBE_START.test(r.urn));
    const settled = [];
    const unsettled = [];
    for (const op of pendingOperations(exported)) {
        const urn = op.resource.urn;
        let ok;
        if (op.type !== "creating") ok = true;
        else if (inState.has(urn)) ok = true;
        else if (run.after === "up") ok = false;
        else if (isKubernetesObject(op.resource) || MINIKUBE_START.test(urn)) ok = clusterGone;
        else ok = true;
        (ok ? settled : unsettled).push(op);
    }
    return { settled, unsettled };
}

/** The export without these operations (`pending_operations` left out when none remain, as Pulumi writes it). */
function withoutOperations(exported, ops) {
    const drop = new Set(ops);
    const remaining = pendingOperations(exported).filter((op) => !drop.has(op));
    const deployment = { ...exported.deployment };
    if (remaining.length > 0) deployment.pending_operations = remaining;
    else delete deployment.pending_operations;
    return { ...exported, deployment };
}

/** What to check for an operation that is not settled, and how. */
function adviceFor(op, context) {
    const d = describeOperation(op);
    if (d.kubernetes) {
        const { kind, name, namespace } = d.kubernetes;
        const where = `${context ? `--context ${context} ` : ""}${namespace ? `-n ${namespace} ` : ""}`;
        return `${d.text}: kubectl ${where}get ${kind.toLowerCase()} ${name}`;
    }
    if (d.profile) return `${d.text}: minikube status -p ${d.profile} (minikube delete -p ${d.profile} removes it)`;
    return `${d.text} (${op.type}, ${op.resource.urn})`;
}

function list(ops, context) {
    return ops.map((op) => `  - ${adviceFor(op, context)}`).join("\n");
}

/**
 * The note before `up` or `destroy`: what the warning Pulumi is about to print means, and what this run does
 * about it. status: none, pending, or kubernetes (creates of Kubernetes objects among them).
 */
function beforeNote(exported, stack, command = "up", upsertSetting = undefined) {
    const creates = pendingOperations(exported).filter((op) => op.type === "creating");
    // Other operations need nothing: the run's first state write drops them (snapshot.go).
    if (creates.length === 0) return { note: "", status: "none" };
    const kubernetes = creates.some((op) => isKubernetesObject(op.resource));
    const one = creates.length === 1;
    const then =
        command === "up"
            ? `\n  This \`pulumi up\` creates ${one ? "it" : "them"} again` +
              (!kubernetes
                  ? ""
                  : upsertSetting === undefined || upsertSetting === "true"
                    ? ", taking over a Kubernetes object the interrupted run made (PULUMI_K8S_UPSERT_EXISTING_OBJECTS=true for this run)"
                    : ` (PULUMI_K8S_UPSERT_EXISTING_OBJECTS is '${upsertSetting}' in your environment, so an object the interrupted run made stops it with "already exists": unset it)`) +
              `; once it succeeds ${one ? "it is" : "they are"} cleared from the state (docs/stacks.md#after-an-interruption).`
            : `\n  Once the destroy succeeds, ${one ? "it is" : "they are"} cleared from the state, or named with what to check where something may be left (docs/stacks.md#after-an-interruption).`;
    const note =
        `an earlier run of stack '${stack}' was interrupted while it created ${one ? "this" : `these ${creates.length}`} ` +
        `(Pulumi warns about ${one ? "it" : "them"} as pending operations from a previous deployment):\n` +
        creates.map((op) => `  - ${describeOperation(op).text}`).join("\n") +
        then;
    return { note, status: kubernetes ? "kubernetes" : "pending" };
}

/** The report after a run that succeeded, and whether to import the state without the settled operations. */
function afterReport(exported, run, stack, context) {
    const ops = pendingOperations(exported);
    if (ops.length === 0) return { status: "none", message: "" };
    const { settled, unsettled } = reconcile(exported, run);
    const what = run.after === "up" ? "this up created again or took over each of them" : "nothing of them can be left in a cluster: it went with the destroy, or they are not Kubernetes objects";
    if (unsettled.length === 0) {
        return {
            status: "import",
            message:
                `the ${ops.length} pending operation${ops.length === 1 ? "" : "s"} an interrupted run left in stack '${stack}' ${ops.length === 1 ? "is" : "are"} settled (${what}); ` +
                `clearing ${ops.length === 1 ? "it" : "them"} from the state (pulumi stack import), so no later run warns about ${ops.length === 1 ? "it" : "them"}:\n` +
                ops.map((op) => `  - ${describeOperation(op).text}`).join("\n"),
        };
    }
    const why =
        run.after === "up"
            ? "this up did not settle: the program no longer declares them, so what the interrupted run made of them is in no state"
            : "may still exist: the interrupted run may have made them, and nothing in the state told destroy to delete them";
    return {
        status: "keep",
        message:
            `an interrupted run left ${unsettled.length} pending operation${unsettled.length === 1 ? "" : "s"} in stack '${stack}' that ${why}:\n` +
            list(unsettled, context) +
            `\n  Check each, and delete what should not be there. Then clear ${ops.length === 1 ? "it" : "all of them"} from the state, or every later run warns about ${ops.length === 1 ? "it" : "them"}:\n` +
            `  pulumi refresh --stack ${stack} --clear-pending-creates --yes   (docs/stacks.md#after-an-interruption)` +
            (settled.length > 0 ? `\n  (Settled already, cleared with them: ${settled.map((op) => describeOperation(op).text).join(", ")}.)` : ""),
    };
}

function log(message) {
    process.stderr.write(`istio-minikube: ${message}\n`);
}

if (require.main === module) {
    const [command, ...args] = process.argv.slice(2);
    let text = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => (text += chunk));
    process.stdin.on("end", () => {
        let exported;
        try {
            exported = JSON.parse(text || "{}");
        } catch {
            log("`pulumi stack export` did not print JSON");
            process.exit(1);
        }
        if (command === "before") {
            const { note, status } = beforeNote(exported, args[0], args[1], process.env.PULUMI_K8S_UPSERT_EXISTING_OBJECTS);
            if (note) log(note);
            process.stdout.write(`${status}\n`);
        } else if (command === "after") {
            const [after, stack, context, wasMinikube, out] = args;
            const { status, message } = afterReport(exported, { after, wasMinikube: wasMinikube === "minikube" }, stack, context);
            if (message) log(message);
            if (status === "import") {
                const { settled } = reconcile(exported, { after, wasMinikube: wasMinikube === "minikube" });
                fs.writeFileSync(out, JSON.stringify(withoutOperations(exported, settled), null, 4), { mode: 0o600 });
            }
            process.stdout.write(`${status}\n`);
        } else {
            log(`pending-operations.js: unknown command '${command}'`);
            process.exit(2);
        }
    });
}

module.exports = { pendingOperations, describeOperation, reconcile, withoutOperations, beforeNote, afterReport };

// Before a first `pulumi up`: is another Istio already in this cluster? Since @pulumi/kubernetes 4.29,
// creating an object that exists fails with AlreadyExists (CHANGELOG 4.29.0, #2926), so an install left by
// istioctl, Helm or an earlier stack would stop the update half-way, on Istio's CRDs or istio-system.
// The program looks first and refuses with the list, unless the stack opts in to adopting them
// (config `upsertExistingObjects`, the provider's upsertExistingObjects).
import { createHash } from "crypto";
import { execFileSync } from "child_process";
import * as pulumi from "@pulumi/pulumi";
import { INJECTOR_WEBHOOK_NAME } from "../mesh/sidecarInjector";
import { VALIDATION_WEBHOOK_NAMES } from "./validationWebhooks";

/** Label on the istio-system namespace this stack creates: it tells the stack's own install from another. */
export const OWNER_LABEL = "istio-minikube/stack";

/** A label value (at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends) naming the project and stack. */
export function ownerLabelValue(project: string, stack: string): string {
    const plain = `${project}.${stack}`;
    if (/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/.test(plain)) return plain;
    return `${project}.${createHash("sha256").update(stack).digest("hex").slice(0, 16)}`;
}

/** Cluster-wide objects of Istio 1.30.3's base and istiod charts for revision default in istio-system. */
export const ISTIO_WEBHOOKS = {
    mutating: [INJECTOR_WEBHOOK_NAME],
    // base templates/defaultrevision-validatingwebhookconfiguration.yaml; istio-discovery
    // templates/validatingwebhookconfiguration.yaml (istio-validator-<istioNamespace>): the names the
    // program gives its own (validationWebhooks.ts).
    validating: Object.values(VALIDATION_WEBHOOK_NAMES) as string[],
};

export type Kubectl = (args: string[]) => string;

/** kubectl against one context, arguments as an argv (never a shell string), bounded in time. */
export function kubectlFor(context: string, env: NodeJS.ProcessEnv = process.env): Kubectl {
    return (args) =>
        execFileSync("kubectl", [`--context=${context}`, "--request-timeout=15s", ...args], {
            env,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
            timeout: 60_000,
        });
}

export type ExistingIstio =
    | { status: "ours" }
    | { status: "clear" }
    | { status: "in-the-way"; objects: string[] }
    | { status: "unreachable"; reason: string };

const names = (output: string) => output.split("\n").map((line) => line.trim()).filter(Boolean);

/** The managers pulumi-kubernetes applies as: `pulumi-kubernetes` (client-side apply) or `pulumi-kubernetes-<random>` (server-side apply), provider.go fieldManagerName. */
const PULUMI_FIELD_MANAGER = /^pulumi-kubernetes(-|$)/;

interface NamespaceObject {
    metadata: { name: string; labels?: Record<string, string>; managedFields?: { manager?: string }[] };
}

/**
 * Whether istio-system is this stack's own: it carries the stack's owner label; or it carries no owner label
 * at all and Pulumi's Kubernetes provider made it (a stack deployed before the label existed). Taking
 * another Pulumi stack's istio-system for ours adopts nothing: the objects are not in this stack's state,
 * so the provider tries to create them and refuses with AlreadyExists.
 */
export function isOwnIstioNamespace(namespace: NamespaceObject, owner: string): boolean {
    const labels = namespace.metadata.labels ?? {};
    if (OWNER_LABEL in labels) return labels[OWNER_LABEL] === owner;
    const managers = (namespace.metadata.managedFields ?? []).map((field) => field.manager ?? "");
    return managers.some((manager) => PULUMI_FIELD_MANAGER.test(manager)) || labels["app.kubernetes.io/managed-by"] === "pulumi";
}

/**
 * What Istio objects the cluster already holds, unless istio-system is this stack's own
 * (isOwnIstioNamespace): CRDs of the *.istio.io groups but those labelled as this stack's, the istio-system
 * namespace, Istio's webhook configurations.
 */
export function findExistingIstio(kubectl: Kubectl, owner: string): ExistingIstio {
    let namespace: string[];
    try {
        const found = JSON.parse(
            kubectl(["get", "namespaces", "--field-selector", "metadata.name=istio-system", "--show-managed-fields", "--output=json"]),
        ) as { items?: NamespaceObject[] };
        const istioSystem = (found.items ?? [])[0];
        if (istioSystem && isOwnIstioNamespace(istioSystem, owner)) return { status: "ours" };
        namespace = istioSystem ? ["namespace/istio-system"] : [];
    } catch (err) {
        return { status: "unreachable", reason: firstLine(err) };
    }
    try {
        // The CRDs an earlier destroy of this stack kept carry its owner label (istioControlPlane.ts
        // labelOwnCrds); its base chart adopts them again (kubernetesProvider.ts adoptingProvider).
        const own = new Set(names(kubectl(["get", "customresourcedefinitions", `--selector=${OWNER_LABEL}=${owner}`, "--output=name"])));
        const crds = names(kubectl(["get", "customresourcedefinitions", "--output=name"])).filter((n) => /\.istio\.io$/.test(n) && !own.has(n));
        const mutating = names(kubectl(["get", "mutatingwebhookconfigurations", "--output=name"])).filter((n) =>
            ISTIO_WEBHOOKS.mutating.includes(n.split("/")[1]),
        );
        const validating = names(kubectl(["get", "validatingwebhookconfigurations", "--output=name"])).filter((n) =>
            ISTIO_WEBHOOKS.validating.includes(n.split("/")[1]),
        );
        const objects = [...namespace, ...mutating, ...validating, ...crds];
        return objects.length > 0 ? { status: "in-the-way", objects } : { status: "clear" };
    } catch (err) {
        return { status: "unreachable", reason: firstLine(err) };
    }
}

/** The first line of what a failed command said (its stderr), or of the error itself. */
export function firstLine(err: unknown): string {
    const failed = err as { stderr?: string; message?: string };
    return (failed.stderr || failed.message || String(err)).trim().split("\n")[0];
}

/** The refusal: what is in the way, and the two ways out. */
export function inTheWayMessage(context: string, objects: string[], stack: string): string {
    const shown = objects.slice(0, 12).map((o) => `  - ${o}`);
    if (objects.length > shown.length) shown.push(`  - ... and ${objects.length - shown.length} more`);
    return [
        `The cluster of context '${context}' already has Istio objects this stack did not create (nothing was changed):`,
        ...shown,
        "Either remove that Istio first (for example 'istioctl uninstall --purge -y', then delete the istio-system namespace and the *.istio.io CRDs),",
        `or let this stack adopt and overwrite them: 'pulumi config set upsertExistingObjects true --stack ${stack}'.`,
        "(The CRDs a destroy of this stack keeps carry its label istio-minikube/stack and are never in the way of its own next up.)",
    ].join("\n");
}

export interface ForeignIstioCheck {
    context: string;
    owner: string;
    stack: string;
    dryRun: boolean;
    kubectl?: Kubectl;
    warn?: (message: string) => void;
}

/**
 * Stops the program, before anything is registered, when the cluster holds an Istio this stack did not
 * install. A cluster that does not answer is only a warning: the provider reports it with its own error.
 */
export function refuseForeignIstio(check: ForeignIstioCheck): ExistingIstio {
    const kubectl = check.kubectl ?? kubectlFor(check.context);
    const found = findExistingIstio(kubectl, check.owner);
    const warn = check.warn ?? ((m: string) => pulumi.log.warn(m));
    if (found.status === "in-the-way") {
        throw new pulumi.RunError(inTheWayMessage(check.context, found.objects, check.stack));
    }
    if (found.status === "unreachable") {
        warn(`Could not look for an existing Istio in context '${check.context}' (${found.reason}); ${check.dryRun ? "this preview" : "this update"} goes on without that check.`);
    }
    return found;
}

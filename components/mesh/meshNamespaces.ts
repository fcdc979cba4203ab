import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { INJECTION_LABEL } from "./sidecarInjector";
import { OUTSIDE_MESH_NAMESPACE, SampleName, StackSettings } from "../config";
import { withFieldManager } from "../fieldManager";

/** Namespaces every cluster has; the program labels them but never owns (or deletes) them. */
export const PREEXISTING_NAMESPACES = ["default"] as const;

export type InjectionMode = "auto" | "manual" | "none";

/** The label a namespace carries for its injection mode; manual namespaces must not be injected twice. */
export function injectionLabels(mode: InjectionMode): Record<string, string> {
    return { [INJECTION_LABEL]: mode === "auto" ? "enabled" : "disabled" };
}

/** One namespace of the stack: how its workloads get the sidecar, and which samples run there. */
export interface NamespacePlan {
    namespace: string;
    injection: InjectionMode;
    samples: SampleName[];
}

/**
 * The stack's namespaces, in order: auto, then manual, each with every configured sample; then, when
 * bookinfo runs in the mesh, `outside-mesh` with the sleep sample (curl) as the plain-text client.
 */
export function namespacePlan(settings: StackSettings): NamespacePlan[] {
    const mesh = [
        ...settings.injection.auto.map((namespace): NamespacePlan => ({ namespace, injection: "auto", samples: settings.samples })),
        ...settings.injection.manual.map((namespace): NamespacePlan => ({ namespace, injection: "manual", samples: settings.samples })),
    ];
    const outside: NamespacePlan[] =
        mesh.length > 0 && settings.samples.includes("bookinfo") ? [{ namespace: OUTSIDE_MESH_NAMESPACE, injection: "none", samples: ["sleep"] }] : [];
    return [...mesh, ...outside];
}

export interface MeshNamespacesArgs {
    provider: k8s.Provider;
    namespaces: NamespacePlan[];
    /** The injector webhook: labelling a namespace for injection before it exists makes no sense. */
    injector: pulumi.Resource;
    /**
     * The stack's server-side-apply field manager (components/fieldManager.ts), on the namespaces the stack
     * owns; not on the patch of `default`, which keeps a manager of its own.
     */
    fieldManager: string;
}

/**
 * The blog's `kubectl label namespace default istio-injection=enabled`, for every namespace of the stack.
 * `default` gets its label through a server-side-apply patch: @pulumi/kubernetes 4.29+ refuses to create
 * an object that exists (CHANGELOG 4.29.0, #2926), and deleting the patch gives the label back without
 * deleting the namespace (pkg/await/await.go Deletion -> ssa.Relinquish). Other namespaces are the stack's.
 */
export class MeshNamespaces extends pulumi.ComponentResource {
    /** By name: what a workload in that namespace waits for. */
    readonly ready = new Map<string, pulumi.Resource>();

    constructor(name: string, args: MeshNamespacesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-minikube:mesh:MeshNamespaces", name, {}, opts);
        for (const { namespace: ns, injection: mode } of args.namespaces) {
            const metadata = { name: ns, labels: injectionLabels(mode) };
            const resourceOpts = { parent: this, provider: args.provider, dependsOn: [args.injector] };
            const resource = (PREEXISTING_NAMESPACES as readonly string[]).includes(ns)
                ? new k8s.core.v1.NamespacePatch(`${ns}-injection-label`, { metadata }, resourceOpts)
                : new k8s.core.v1.Namespace(ns, { metadata: withFieldManager(metadata, args.fieldManager) }, resourceOpts);
            this.ready.set(ns, resource);
        }
        this.registerOutputs({ namespaces: args.namespaces.map(({ namespace, injection }) => ({ name: namespace, injection })) });
    }
}

import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { INJECTION_LABEL } from "./sidecarInjector";
import { OUTSIDE_MESH_NAMESPACE } from "./config";

/** Namespaces every cluster has; the program labels them but never owns (or deletes) them. */
export const PREEXISTING_NAMESPACES = ["default"] as const;

export type InjectionMode = "auto" | "manual" | "none";

/** The label a namespace carries for its injection mode; manual namespaces must not be injected twice. */
export function injectionLabels(mode: InjectionMode): Record<string, string> {
    return { [INJECTION_LABEL]: mode === "auto" ? "enabled" : "disabled" };
}

export interface MeshNamespacesArgs {
    provider: k8s.Provider;
    auto: string[];
    manual: string[];
    /** Also make the namespace outside the mesh, for the plain-text client. */
    outsideMesh: boolean;
    /** The injector webhook: labelling a namespace for injection before it exists makes no sense. */
    injector: pulumi.Resource;
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
        const entries: [string, InjectionMode][] = [
            ...args.auto.map((ns): [string, InjectionMode] => [ns, "auto"]),
            ...args.manual.map((ns): [string, InjectionMode] => [ns, "manual"]),
            ...(args.outsideMesh ? [[OUTSIDE_MESH_NAMESPACE, "none"] as [string, InjectionMode]] : []),
        ];
        for (const [ns, mode] of entries) {
            const metadata = { name: ns, labels: injectionLabels(mode) };
            const resourceOpts = { parent: this, provider: args.provider, dependsOn: [args.injector] };
            const resource = (PREEXISTING_NAMESPACES as readonly string[]).includes(ns)
                ? new k8s.core.v1.NamespacePatch(`${ns}-injection-label`, { metadata }, resourceOpts)
                : new k8s.core.v1.Namespace(ns, { metadata }, resourceOpts);
            this.ready.set(ns, resource);
        }
        this.registerOutputs({ namespaces: entries.map(([ns, mode]) => ({ name: ns, injection: mode })) });
    }
}

import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as command from "@pulumi/command";
import * as path from "path";
import { createHash } from "crypto";
import { scriptCommand } from "../scripts";
import { withFieldManager } from "../fieldManager";

export const INJECTOR_WEBHOOK_NAME = "istio-sidecar-injector";
export const INJECTION_LABEL = "istio-injection";

type Webhook = k8s.types.input.admissionregistration.v1.MutatingWebhook;

/**
 * The webhooks istiod's chart renders for revision "" in istio-system (istio/istio 1.30.3
 * manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml, L14-L144; the same as
 * operator/cmd/mesh/testdata/manifest-generate/output/pilot_default.golden.yaml): one shared core
 * (service istiod:443 /inject, pods CREATE, sideEffects None, failurePolicy Fail, reinvocation Never,
 * review v1) and four selectors. We set `caBundle` to the stack's root CA, which signed istiod's
 * serving certificate. The API server fills timeoutSeconds 10, matchPolicy Equivalent and each rule's
 * scope "*" (admissionregistration/v1 defaults; the real tier, e2e/webhook.e2e.ts, compares what a real
 * API server stores); we state them so what is stored is what was sent and a refresh finds nothing to change.
 */
export function sidecarInjectorWebhooks(caBundle: string, istioNamespace = "istio-system"): Webhook[] {
    const core = {
        clientConfig: { service: { name: "istiod", namespace: istioNamespace, path: "/inject", port: 443 }, caBundle },
        sideEffects: "None",
        rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "*" }],
        failurePolicy: "Fail",
        reinvocationPolicy: "Never",
        admissionReviewVersions: ["v1"],
        timeoutSeconds: 10,
        matchPolicy: "Equivalent",
    };
    const notOptedOut = { key: "sidecar.istio.io/inject", operator: "NotIn", values: ["false"] };
    const noInjectionLabel = { key: INJECTION_LABEL, operator: "DoesNotExist" };
    const noRevisionLabel = { key: "istio.io/rev", operator: "DoesNotExist" };
    return [
        {
            name: "rev.namespace.sidecar-injector.istio.io",
            ...core,
            namespaceSelector: { matchExpressions: [{ key: "istio.io/rev", operator: "In", values: ["default"] }, noInjectionLabel] },
            objectSelector: { matchExpressions: [notOptedOut] },
        },
        {
            name: "rev.object.sidecar-injector.istio.io",
            ...core,
            namespaceSelector: { matchExpressions: [noRevisionLabel, noInjectionLabel] },
            objectSelector: { matchExpressions: [notOptedOut, { key: "istio.io/rev", operator: "In", values: ["default"] }] },
        },
        {
            name: "namespace.sidecar-injector.istio.io",
            ...core,
            namespaceSelector: { matchExpressions: [{ key: INJECTION_LABEL, operator: "In", values: ["enabled"] }] },
            objectSelector: { matchExpressions: [notOptedOut] },
        },
        {
            name: "object.sidecar-injector.istio.io",
            ...core,
            namespaceSelector: { matchExpressions: [noInjectionLabel, noRevisionLabel] },
            objectSelector: {
                matchExpressions: [
                    { key: "sidecar.istio.io/inject", operator: "In", values: ["true"] },
                    { key: "istio.io/rev", operator: "DoesNotExist" },
                ],
            },
        },
    ];
}

/** Local copies of what istiod injects with, for `istioctl kube-inject` (the blog's inject-config.yaml, mesh-config.yaml). */
export interface InjectorFiles {
    injectConfigFile: string;
    injectValuesFile: string;
    meshConfigFile: string;
}

export function injectorFiles(dir: string): InjectorFiles {
    return {
        injectConfigFile: path.join(dir, "inject-config.yaml"),
        injectValuesFile: path.join(dir, "inject-values.json"),
        meshConfigFile: path.join(dir, "mesh-config.yaml"),
    };
}

export interface SidecarInjectorArgs {
    provider: k8s.Provider;
    /** kubectl context of the cluster (the minikube profile, or the existing cluster's context). */
    kubeContext: string;
    /** What the API server trusts istiod's /inject by: the stack's trust bundle (every root it keeps). */
    trustBundlePem: pulumi.Input<string>;
    /** istiod: serves /inject and writes the ConfigMaps read back here. */
    istiod: pulumi.Resource;
    /**
     * What shapes the injector and mesh config (Istio version, istiod's chart values, the cluster): when
     * it changes, the files are read again.
     */
    configInputs: pulumi.Input<Record<string, unknown>>;
    /** Folder for the local copies (per stack). */
    filesDir: string;
    /** The stack's server-side-apply field manager (components/fieldManager.ts), on every object made here. */
    fieldManager: string;
}

/**
 * The blog's webhook-patch-ca-bundle.sh and istio-sidecar-injector.yaml as one typed object with the
 * caBundle set, and the blog's kubectl read-back of the injector and mesh config into local files.
 */
export class SidecarInjector extends pulumi.ComponentResource {
    readonly webhook: k8s.admissionregistration.v1.MutatingWebhookConfiguration;
    readonly files: pulumi.Output<InjectorFiles>;
    /** The read-back command: what needs the local files waits for it. */
    readonly configReadBack: command.local.Command;

    constructor(name: string, args: SidecarInjectorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-minikube:istio:SidecarInjector", name, {}, opts);

        this.webhook = new k8s.admissionregistration.v1.MutatingWebhookConfiguration(
            INJECTOR_WEBHOOK_NAME,
            {
                metadata: withFieldManager(
                    { name: INJECTOR_WEBHOOK_NAME, labels: { app: "sidecar-injector", "app.kubernetes.io/managed-by": "istio-minikube" } },
                    args.fieldManager,
                ),
                webhooks: pulumi.output(args.trustBundlePem).apply((pem) => sidecarInjectorWebhooks(Buffer.from(pem).toString("base64"))),
            },
            // After istiod is ready: with failurePolicy Fail, a pod created while nothing serves /inject fails.
            { parent: this, provider: args.provider, dependsOn: [args.istiod] },
        );

        const files = injectorFiles(args.filesDir);
        this.configReadBack = new command.local.Command(
            `${name}-config`,
            {
                create: scriptCommand("injector-config.sh"),
                update: scriptCommand("injector-config.sh"),
                delete: scriptCommand("injector-config-remove.sh"),
                environment: {
                    KUBE_CONTEXT: args.kubeContext,
                    INJECT_CONFIG_FILE: files.injectConfigFile,
                    INJECT_VALUES_FILE: files.injectValuesFile,
                    MESH_CONFIG_FILE: files.meshConfigFile,
                    CONFIG_FINGERPRINT: pulumi.output(args.configInputs).apply((inputs) =>
                        createHash("sha256").update(JSON.stringify(inputs)).digest("hex"),
                    ),
                },
            },
            { parent: this, dependsOn: [args.istiod] },
        );
        this.files = this.configReadBack.stdout.apply(() => files);
        this.registerOutputs({ webhook: INJECTOR_WEBHOOK_NAME, files: this.files });
    }
}

// Istio's two ValidatingWebhookConfigurations, made by the program instead of the charts, with the stack's
// root CA as caBundle: the charts then take no value that depends on the root, so a rotation's preview
// renders them (and lists what `up` will change) instead of showing their objects as deletes.
import * as k8s from "@pulumi/kubernetes";

type ValidatingWebhook = k8s.types.input.admissionregistration.v1.ValidatingWebhook;

/** The names the charts give them for revision "default" in istio-system (existingIstio.ts looks for them too). */
export const VALIDATION_WEBHOOK_NAMES = { defaultRevision: "istiod-default-validator", revision: "istio-validator-istio-system" } as const;
export type ValidationWebhookName = (typeof VALIDATION_WEBHOOK_NAMES)[keyof typeof VALIDATION_WEBHOOK_NAMES];

/** The charts' labels (istioctl finds the default revision's validator by istio.io/rev), and who made them. */
export const VALIDATION_WEBHOOK_LABELS = {
    app: "istiod",
    istio: "istiod",
    "istio.io/rev": "default",
    "app.kubernetes.io/name": "istiod",
    "app.kubernetes.io/part-of": "istio",
    "app.kubernetes.io/managed-by": "istio-minikube",
};

/**
 * The webhooks of one of the two configurations, as Istio 1.30's charts render them with
 * `base.validationCABundle` set (base templates/defaultrevision-validatingwebhookconfiguration.yaml;
 * istio-discovery templates/validatingwebhookconfiguration.yaml): Service istiod:443 /validate, CREATE and
 * UPDATE of every resource of the four Istio config groups, failurePolicy Fail (nothing patches them:
 * istiod's validation controller is off, chartValues.ts VALIDATION_WEBHOOK_CONFIG_NAME). The revision's one
 * only looks at objects labelled istio.io/rev=default. The API server's defaults are stated (port 443,
 * timeoutSeconds 10, matchPolicy Equivalent, empty selectors, rule scope "*"), so what is stored is what
 * was sent.
 */
export function validationWebhooks(configuration: ValidationWebhookName, caBundle: string, istioNamespace = "istio-system"): ValidatingWebhook[] {
    const core = {
        clientConfig: { service: { name: "istiod", namespace: istioNamespace, path: "/validate", port: 443 }, caBundle },
        rules: [
            {
                operations: ["CREATE", "UPDATE"],
                apiGroups: ["security.istio.io", "networking.istio.io", "telemetry.istio.io", "extensions.istio.io"],
                apiVersions: ["*"],
                resources: ["*"],
                scope: "*",
            },
        ],
        failurePolicy: "Fail",
        sideEffects: "None",
        admissionReviewVersions: ["v1"],
        timeoutSeconds: 10,
        matchPolicy: "Equivalent",
        namespaceSelector: {},
    };
    if (configuration === VALIDATION_WEBHOOK_NAMES.defaultRevision) {
        return [{ name: "validation.istio.io", ...core, objectSelector: {} }];
    }
    return [
        {
            name: "rev.validation.istio.io",
            ...core,
            objectSelector: { matchExpressions: [{ key: "istio.io/rev", operator: "In", values: ["default"] }] },
        },
    ];
}

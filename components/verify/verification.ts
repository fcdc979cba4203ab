import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { GatewayServiceType, MtlsMode, OUTSIDE_MESH_NAMESPACE, SampleName, StackSettings } from "../config";
import { SAMPLE_APPS } from "../mesh/sampleManifests";
import { ingressUrlEnvironment } from "../mesh/bookinfoIngress";

/** The title of bookinfo's product page (samples/bookinfo/src/productpage/templates/productpage.html). */
export const PRODUCTPAGE_TITLE = "Simple Bookstore App";

export interface CheckSpec {
    /** Plain name, used for the command, the stack output and the table. */
    name: string;
    /** What it checks, in a sentence (docs/verification.md, the checks). */
    description: string;
    /** Script path relative to the project folder. */
    script: string;
    environment: Record<string, string>;
    /** Set when the stack's `skipChecks` names this check: it is reported, not run. */
    skipped?: string;
}

export interface VerificationInputs {
    kubeContext: string;
    mtls: MtlsMode;
    /** Namespaces whose sample pods must run istio-proxy (auto and manual). */
    injectedNamespaces: string[];
    /** The samples deployed there: only their pods are looked at, not whatever else runs in `default`. */
    samples: SampleName[];
    /** The injected namespace that runs bookinfo, if any: the curl checks need productpage and details. */
    bookinfoNamespace?: string;
    /** The ingress gateway, when it runs and bookinfo is routed through it. */
    ingress?: { serviceType: GatewayServiceType; minikubeProfile?: string };
    attempts?: number;
    delaySeconds?: number;
    /** Check names the stack chose not to run (config `skipChecks`). */
    skip?: string[];
}

const CHECKS_DIR = "components/scripts/checks";

/** The kubectl context of the stack's cluster: minikube names its context after the profile. */
export function kubeContextOf(settings: StackSettings): string {
    return settings.cluster.kind === "minikube" ? settings.cluster.minikube.profile : settings.cluster.kubeContext;
}

/** Auto then manual: the namespaces whose workloads are in the mesh. */
export function meshNamespacesOf(settings: StackSettings): string[] {
    return [...settings.injection.auto, ...settings.injection.manual];
}

/** Where the blog's curl tests run: the first mesh namespace, when bookinfo is deployed. */
export function bookinfoNamespaceOf(settings: StackSettings): string | undefined {
    return settings.samples.includes("bookinfo") ? meshNamespacesOf(settings)[0] : undefined;
}

/** The gateway's exposure, when bookinfo's product page is routed through it (config gateway.enabled). */
export function ingressOf(settings: StackSettings): VerificationInputs["ingress"] {
    if (!settings.gateway.enabled || !bookinfoNamespaceOf(settings)) return undefined;
    return {
        serviceType: settings.gateway.serviceType,
        minikubeProfile: settings.cluster.kind === "minikube" ? settings.cluster.minikube.profile : undefined,
    };
}

/** What the checks of a stack need to know, from its settings (used by `pulumi up` and `npm run verify`). */
export function verificationInputsOf(settings: StackSettings, retries?: { attempts: number; delaySeconds: number }): VerificationInputs {
    return {
        kubeContext: kubeContextOf(settings),
        mtls: settings.istio.mtls,
        injectedNamespaces: meshNamespacesOf(settings),
        samples: settings.samples,
        bookinfoNamespace: bookinfoNamespaceOf(settings),
        ingress: ingressOf(settings),
        skip: settings.skipChecks,
        ...retries,
    };
}

/** The checks for a stack, in order; the curl checks only when bookinfo runs in an injected namespace. */
export function verificationChecks(inputs: VerificationInputs): CheckSpec[] {
    const common = {
        KUBE_CONTEXT: inputs.kubeContext,
        CHECK_ATTEMPTS: String(inputs.attempts ?? 30),
        CHECK_DELAY_SECONDS: String(inputs.delaySeconds ?? 5),
    };
    const check = (name: string, description: string, script: string, extra: Record<string, string> = {}): CheckSpec => ({
        name,
        description,
        script: `${CHECKS_DIR}/${script}`,
        environment: { CHECK_NAME: name, ...common, ...extra },
    });
    const checks = [
        check("control-plane-ready", "istiod has an available replica", "check-control-plane.sh"),
        check("mtls-mode", `the mesh-wide PeerAuthentication is ${inputs.mtls}`, "check-mtls-mode.sh", { EXPECTED_MTLS: inputs.mtls }),
    ];
    if (inputs.injectedNamespaces.length > 0 && inputs.samples.length > 0) {
        const apps = [...new Set(inputs.samples.flatMap((sample) => SAMPLE_APPS[sample]))].sort();
        checks.push(
            check("sidecars-injected", "every sample pod in an injected namespace runs istio-proxy", "check-sidecars.sh", {
                INJECTED_NAMESPACES: inputs.injectedNamespaces.join(" "),
                POD_SELECTOR: `app in (${apps.join(",")})`,
            }),
        );
    }
    if (inputs.bookinfoNamespace) {
        const mesh = { EXPECTED_MTLS: inputs.mtls, MESH_NAMESPACE: inputs.bookinfoNamespace };
        checks.push(
            check("curl-with-certificates", "productpage's proxy gets HTTP 200 from details with its certificates (STRICT)", "check-curl-with-certs.sh", mesh),
            check("curl-without-certificates", "the same request without certificates is refused (STRICT)", "check-curl-without-certs.sh", mesh),
            check(
                "plaintext-from-outside",
                inputs.mtls === "STRICT" ? "plain text from outside the mesh is refused" : "plain text from outside the mesh is served",
                "check-plaintext.sh",
                { ...mesh, OUTSIDE_NAMESPACE: OUTSIDE_MESH_NAMESPACE },
            ),
        );
        if (inputs.ingress) {
            checks.push(
                check(
                    "ingress-productpage",
                    "bookinfo's product page answers HTTP 200 from the host through the ingress gateway",
                    "check-ingress-productpage.sh",
                    {
                        ...ingressUrlEnvironment({ kubeContext: inputs.kubeContext, ...inputs.ingress }),
                        EXPECTED_TITLE: PRODUCTPAGE_TITLE,
                    },
                ),
            );
        }
    }
    const skip = new Set(inputs.skip ?? []);
    return checks.map((c) => (skip.has(c.name) ? { ...c, skipped: "skipped: listed in the stack's skipChecks" } : c));
}

/** What a skipped check reports, in the same shape a check script prints. */
export function skippedResult(check: CheckSpec): CheckResult {
    return { check: check.name, status: "skipped", detail: check.skipped ?? "skipped" };
}

export interface CheckResult {
    check: string;
    status: "pass" | "skipped" | "fail";
    detail: string;
}

export interface VerificationArgs {
    checks: CheckSpec[];
    /**
     * What the checks look at, as a fingerprint input: Istio version, mode, root certificate, samples and
     * namespaces. The checks run again when it changes, and never because time passed.
     */
    subject: pulumi.Input<Record<string, unknown>>;
    /** The samples and the control plane. */
    waitFor: pulumi.Resource[];
}

export function fingerprint(subject: Record<string, unknown>): string {
    return crypto.createHash("sha256").update(JSON.stringify(subject)).digest("hex");
}

/** The blog's mutual-TLS tests as a gate: one command per check; a failed check fails `pulumi up`. */
export class Verification extends pulumi.ComponentResource {
    readonly results: pulumi.Output<CheckResult[]>;

    constructor(name: string, args: VerificationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-minikube:verify:Verification", name, {}, opts);
        const subject = pulumi.output(args.subject).apply(fingerprint);
        const commands = args.checks.map((check) =>
            check.skipped
                ? pulumi.output(JSON.stringify(skippedResult(check)))
                : new command.local.Command(
                    `check-${check.name}`,
                    {
                        create: `bash ${check.script}`,
                        environment: check.environment,
                        triggers: [subject],
                    },
                      { parent: this, dependsOn: args.waitFor },
                  ).stdout,
        );
        this.results = pulumi.all(commands).apply((lines) => lines.map((line) => JSON.parse(line) as CheckResult));
        this.registerOutputs({ results: this.results });
    }
}

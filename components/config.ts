// Stack configuration: read once, validated once, at the edge. Everything downstream takes the typed
// `StackSettings`; nothing else reads Pulumi config. Defaults live here.
import { createHash } from "crypto";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parseImageReference, ImageReferenceError } from "./cluster/images";
import * as v from "./validate";
import { DEFAULT_ISTIO_VERSION, DEFAULT_KUBERNETES_VERSION, checkIstioSupportsKubernetes } from "./istio/versions";

export const PROJECT = "istio-minikube";

export const MTLS_MODES = ["STRICT", "PERMISSIVE", "DISABLE"] as const;
export type MtlsMode = (typeof MTLS_MODES)[number];

export const SAMPLES = ["sleep", "bookinfo"] as const;
export type SampleName = (typeof SAMPLES)[number];

/** The dashboards of the release's samples/addons that the stack can install (istioctl dashboard opens them). */
export const ADDONS = ["prometheus", "kiali", "grafana", "jaeger"] as const;
export type AddonName = (typeof ADDONS)[number];

/** How the ingress gateway's Service is exposed: a node port (minikube), or a load balancer's address. */
export const GATEWAY_SERVICE_TYPES = ["NodePort", "LoadBalancer"] as const;
export type GatewayServiceType = (typeof GATEWAY_SERVICE_TYPES)[number];

// Drivers for a laptop: minikube v1.38.1 pkg/minikube/driver/driver_linux.go and driver_darwin.go
// supportedDrivers, less the ones that are not a local VM or container (none, ssh) or are deprecated.
export const MINIKUBE_DRIVERS = ["kvm2", "docker", "podman", "qemu2", "virtualbox", "vfkit"] as const;
export type MinikubeDriver = (typeof MINIKUBE_DRIVERS)[number];

// Components --extra-config accepts (minikube v1.38.1 pkg/minikube/bootstrapper/bsutil/kubeadm.go
// KubeadmExtraConfigOpts; checked by bsutil.FindInvalidExtraConfigFlags). The help text says "proxy", the
// code says "kube-proxy". minikube does not check keys: a bad key only shows as a crash-looping component.
export const EXTRA_CONFIG_COMPONENTS = [
    "apiserver",
    "controller-manager",
    "scheduler",
    "etcd",
    "kubeadm",
    "kubelet",
    "kube-proxy",
] as const;

/** Namespaces the program will not label or fill with samples. */
/** The ingress gateway's own namespace (istio.io's getting-started and the gateway chart's README use it). */
export const GATEWAY_NAMESPACE = "istio-ingress";
export const RESERVED_NAMESPACES = ["istio-system", GATEWAY_NAMESPACE, "kube-system", "kube-public", "kube-node-lease"] as const;
/** Holds the sample client outside the mesh, for the plain-text check; never injected. */
export const OUTSIDE_MESH_NAMESPACE = "outside-mesh";

export interface MinikubeSettings {
    profile: string;
    driver: MinikubeDriver;
    cpus: number;
    /** MB, as `minikube start --memory` takes it. */
    memory: number;
    kubernetesVersion: string;
    /** `component.key=value`, each passed as one `--extra-config` argument. */
    extraConfig: string[];
}

export type ClusterSettings =
    | { kind: "minikube"; minikube: MinikubeSettings }
    | { kind: "existing"; kubeContext: string };

export interface IstioSettings {
    version: string;
    /** Absolute path of an `istio-<version>-linux-amd64.tar.gz` already on disk, if given. */
    releaseArchive?: string;
    /** Where to download the release archive from instead of Istio's GitHub releases (a mirror); `.sha256` beside it. */
    releaseUrl?: string;
    mtls: MtlsMode;
}

export interface ImageSettings {
    preload: boolean;
    /** Absolute path of the folder that keeps one `.tar.xz` per image. */
    archiveDir: string;
    extra: string[];
}

export interface InjectionSettings {
    auto: string[];
    manual: string[];
}

export interface GatewaySettings {
    /** Istio's gateway chart in its own namespace, and bookinfo's Gateway and VirtualService. */
    enabled: boolean;
    serviceType: GatewayServiceType;
}

export interface CertificateSettings {
    validityDays: number;
    rotation: number;
    /**
     * Set to `rotation` to retire the root that rotation replaced; unset (or rotation - 1) keeps it trusted
     * beside the new one. Absent when unset.
     */
    retired?: number;
    /**
     * The rotation whose root signs workload certificates: `rotation` (as unset does), or rotation - 1 for
     * the trust step, where the new root is trusted everywhere before it signs anything. Absent when unset.
     */
    signing?: number;
}

export interface StackSettings {
    stack: string;
    /** This stack's local files (injector config read back from the cluster): absolute. */
    workDir: string;
    /** Unpacked Istio releases, shared by every stack on the machine: absolute. */
    releaseCacheDir: string;
    cluster: ClusterSettings;
    istio: IstioSettings;
    images: ImageSettings;
    injection: InjectionSettings;
    samples: SampleName[];
    gateway: GatewaySettings;
    addons: AddonName[];
    verify: boolean;
    /** Checks reported as skipped instead of run (for clusters without a data plane, say). */
    skipChecks: CheckName[];
    certificates: CertificateSettings;
    /** Adopt Istio objects already in the cluster instead of refusing (the provider's upsertExistingObjects). */
    upsertExistingObjects: boolean;
}

/** The verification checks, in the order they run (components/verify/verification.ts verificationChecks). */
export const CHECK_NAMES = [
    "control-plane-ready",
    "mtls-mode",
    "sidecars-injected",
    "curl-with-certificates",
    "curl-without-certificates",
    "plaintext-from-outside",
    "ingress-productpage",
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export const CONFIG_KEYS = [
    "cluster",
    "kubeContext",
    "minikube",
    "istio",
    "images",
    "injection",
    "samples",
    "gateway",
    "addons",
    "verify",
    "skipChecks",
    "certificates",
    "upsertExistingObjects",
] as const;

/** Stops the program with every config problem found, one per line. RunError prints without a stack trace. */
export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(
            `Invalid stack configuration (nothing was created):\n${problems.map((p) => `  - ${p}`).join("\n")}\n` +
                `Fix it with 'pulumi config set --path <key> <value>' or in Pulumi.<stack>.yaml; docs/configuration.md lists every key.`,
        );
        this.name = "ConfigError";
    }
}

export interface Environment {
    homeDir: string;
    /** The project folder; relative paths in config are taken from here, as Pulumi runs the program here. */
    projectDir: string;
}

export function defaultEnvironment(): Environment {
    // HOME first, as os.homedir() itself does on Linux and macOS; read here so a caller's HOME counts.
    return { homeDir: process.env.HOME || os.homedir(), projectDir: process.cwd() };
}

/**
 * The minikube profile a stack gets when it names none: `istio-<stack>`, so two stacks never share a cluster.
 * Pulumi allows stack names minikube refuses as a profile (`_`, over 57 characters, a trailing '.'):
 * those get the other characters folded to '-' and a short hash of the stack name, so the name stays
 * valid and two stacks such as `a_b` and `a-b` still get profiles of their own. Valid names stay as they
 * were, so existing stacks keep their cluster.
 */
export function defaultProfileFor(stack: string): string {
    const plain = `istio-${stack}`;
    if (v.minikubeProfile(plain) === undefined) return plain;
    const hash = createHash("sha256").update(stack).digest("hex").slice(0, 8);
    const folded = stack.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
    const room = 63 - "istio-".length - hash.length - 1;
    const head = folded.slice(0, room).replace(/-+$/, "");
    return head ? `istio-${head}-${hash}` : `istio-${hash}`;
}

/**
 * The defaults, for a stack named `stack`. Pulumi.yaml declares the same values (a test keeps them equal),
 * except the profile, which carries the stack name so two stacks never share a cluster by accident.
 */
export function defaultSettings(stack: string) {
    return {
        cluster: "minikube" as const,
        minikube: {
            profile: defaultProfileFor(stack),
            driver: "docker" as MinikubeDriver,
            cpus: 4,
            memory: 8192,
            kubernetesVersion: DEFAULT_KUBERNETES_VERSION,
            extraConfig: [] as string[],
        },
        istio: { version: DEFAULT_ISTIO_VERSION, mtls: "STRICT" as MtlsMode },
        images: { preload: true, archiveDir: `~/.cache/${PROJECT}/images`, extra: [] as string[] },
        injection: { auto: ["default"], manual: [] as string[] },
        samples: ["sleep", "bookinfo"] as SampleName[],
        gateway: { enabled: true, serviceType: "NodePort" as GatewayServiceType },
        addons: ["prometheus", "kiali"] as AddonName[],
        verify: true,
        skipChecks: [] as CheckName[],
        certificates: { validityDays: 365, rotation: 0 },
        upsertExistingObjects: false,
    };
}

/** Reads `pulumi.runtime.allConfig()`-shaped input: keys `project:name`, values strings (objects as JSON). */
export function parseSettings(
    rawConfig: Record<string, string>,
    stack: string,
    env: Environment = defaultEnvironment(),
): StackSettings {
    const problems: string[] = [];
    const reader = new Reader(problems);
    const defaults = defaultSettings(stack);

    const values = new Map<string, unknown>();
    for (const [fullKey, raw] of Object.entries(rawConfig)) {
        const sep = fullKey.indexOf(":");
        const namespace = fullKey.slice(0, sep);
        const key = fullKey.slice(sep + 1);
        if (namespace !== PROJECT) continue; // other packages' config (kubernetes:..., pulumi:...) is theirs
        if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
            problems.push(`${fullKey}: unknown key; known keys are ${CONFIG_KEYS.map((k) => `${PROJECT}:${k}`).join(", ")}`);
            continue;
        }
        values.set(key, STRING_KEYS.has(key) ? raw : decode(raw));
    }

    const clusterKind = reader.enumeration("cluster", values.get("cluster"), ["minikube", "existing"] as const, defaults.cluster);
    const kubeContextRaw = values.get("kubeContext");
    const minikubeRaw = values.get("minikube");

    let cluster: ClusterSettings;
    if (clusterKind === "existing") {
        // Pulumi.yaml declares kubeContext with the default "" (declared keys need one), so "" means unset.
        const kubeContext = reader.string("kubeContext", kubeContextRaw === "" ? undefined : kubeContextRaw, undefined, v.kubeContext);
        if (kubeContextRaw === undefined || kubeContextRaw === "") {
            problems.push(`${PROJECT}:kubeContext is missing: with cluster "existing" it names the kubeconfig context to use`);
        }
        cluster = { kind: "existing", kubeContext: kubeContext ?? "" };
    } else {
        if (kubeContextRaw !== undefined && kubeContextRaw !== "") {
            problems.push(
                `${PROJECT}:kubeContext = ${v.describeValue(kubeContextRaw)} is only used with cluster "existing"; remove it, or set cluster to "existing"`,
            );
        }
        const m = reader.object("minikube", minikubeRaw, ["profile", "driver", "cpus", "memory", "kubernetesVersion", "extraConfig"]);
        const d = defaults.minikube;
        cluster = {
            kind: "minikube",
            minikube: {
                profile: reader.string("minikube.profile", m.profile ?? d.profile, d.profile, v.minikubeProfile) ?? d.profile,
                driver: reader.enumeration("minikube.driver", m.driver, MINIKUBE_DRIVERS, d.driver),
                cpus: reader.integer("minikube.cpus", m.cpus, d.cpus, 2, 64),
                // minikube refuses under 1800 MB; Istio with bookinfo does not fit under 4096.
                memory: reader.integer("minikube.memory", m.memory, d.memory, 4096, 262144, "MB; Istio with the samples needs at least 4096"),
                kubernetesVersion:
                    reader.string("minikube.kubernetesVersion", m.kubernetesVersion, d.kubernetesVersion, v.kubernetesVersion) ??
                    d.kubernetesVersion,
                extraConfig: reader.list("minikube.extraConfig", m.extraConfig, d.extraConfig, extraConfigCheck, { unique: true }),
            },
        };
    }

    const i = reader.object("istio", values.get("istio"), ["version", "releaseArchive", "releaseUrl", "mtls"]);
    const istioVersion = reader.string("istio.version", i.version, defaults.istio.version, v.semver) ?? defaults.istio.version;
    const releaseArchive = reader.string("istio.releaseArchive", i.releaseArchive, undefined, releaseArchiveCheck);
    const releaseUrl = reader.string("istio.releaseUrl", i.releaseUrl, undefined, releaseUrlCheck);
    if (releaseArchive !== undefined && releaseUrl !== undefined) {
        problems.push(`${PROJECT}:istio: releaseArchive and releaseUrl are both set; the release comes from one place, set one of them`);
    }
    const istio: IstioSettings = {
        version: istioVersion,
        ...(releaseArchive !== undefined ? { releaseArchive: resolvePath(releaseArchive, env) } : {}),
        ...(releaseUrl !== undefined ? { releaseUrl } : {}),
        mtls: reader.enumeration("istio.mtls", i.mtls, MTLS_MODES, defaults.istio.mtls),
    };
    // Compare only versions as given (a rejected one was replaced by its default); problems with other keys
    // do not skip the check, so one run still reports every problem.
    const versionRejected = problems.some((p) =>
        ["istio", "istio.version", "minikube", "minikube.kubernetesVersion"].some((key) => p.startsWith(`${PROJECT}:${key} = `)),
    );
    if (cluster.kind === "minikube" && !versionRejected) {
        const mismatch = checkIstioSupportsKubernetes(istio.version, cluster.minikube.kubernetesVersion);
        if (mismatch) problems.push(mismatch);
    }

    const im = reader.object("images", values.get("images"), ["preload", "archiveDir", "extra"]);
    const archiveDir = reader.string("images.archiveDir", im.archiveDir, defaults.images.archiveDir, v.localPath) ?? defaults.images.archiveDir;
    const images: ImageSettings = {
        preload: reader.boolean("images.preload", im.preload, defaults.images.preload),
        archiveDir: resolvePath(archiveDir, env),
        extra: reader.list("images.extra", im.extra, defaults.images.extra, imageCheck, { unique: true }),
    };

    const inj = reader.object("injection", values.get("injection"), ["auto", "manual"]);
    const injection: InjectionSettings = {
        auto: reader.list("injection.auto", inj.auto, defaults.injection.auto, namespaceCheck, { unique: true }),
        manual: reader.list("injection.manual", inj.manual, defaults.injection.manual, namespaceCheck, { unique: true }),
    };
    for (const ns of injection.auto.filter((n) => injection.manual.includes(n))) {
        problems.push(`${PROJECT}:injection: namespace "${ns}" is in both auto and manual; a namespace is injected one way`);
    }

    const samples = reader.list("samples", values.get("samples"), defaults.samples, enumCheck(SAMPLES), { unique: true }) as SampleName[];

    const g = reader.object("gateway", values.get("gateway"), ["enabled", "serviceType"]);
    const gateway: GatewaySettings = {
        enabled: reader.boolean("gateway.enabled", g.enabled, defaults.gateway.enabled),
        serviceType: reader.enumeration("gateway.serviceType", g.serviceType, GATEWAY_SERVICE_TYPES, defaults.gateway.serviceType),
    };
    const addons = reader.list("addons", values.get("addons"), defaults.addons, enumCheck(ADDONS), { unique: true }) as AddonName[];

    const c = reader.object("certificates", values.get("certificates"), ["validityDays", "rotation", "retired", "signing"]);
    const certificates: CertificateSettings = {
        validityDays: reader.integer("certificates.validityDays", c.validityDays, defaults.certificates.validityDays, 1, 3650),
        rotation: reader.integer("certificates.rotation", c.rotation, defaults.certificates.rotation, 0, 1_000_000),
    };
    // Checked against a valid rotation only: a bad rotation is reported once, under its own key.
    if (c.rotation === undefined || c.rotation === certificates.rotation) {
        // Only the root the current rotation replaced can still be trusted (the one before it left with
        // that rotation), so each key has two values with a meaning: the current rotation's and the one before.
        const rotation = certificates.rotation;
        const allowed = [rotation - 1, rotation].filter((n) => n >= 0);
        const oneOf = (value: unknown) => typeof value === "number" && allowed.includes(value);
        if (c.signing !== undefined) {
            const why = `${allowed.map(String).join(" or ")}: ${rotation} has the root of certificates.rotation sign (as unset does)${allowed.length > 1 ? `, ${rotation - 1} has the root it replaced go on signing while the new one is only trusted (the trust step)` : ""}`;
            if (oneOf(c.signing)) certificates.signing = c.signing as number;
            else reader.bad("certificates.signing", c.signing, why);
        }
        if (c.retired !== undefined) {
            const why = `${allowed.map(String).join(" or ")}: certificates.rotation (${rotation}) retires the root it replaced${allowed.length > 1 ? `, ${rotation - 1} keeps it trusted (as unset does)` : ""}`;
            if (!oneOf(c.retired)) reader.bad("certificates.retired", c.retired, why);
            else if (c.retired === rotation && certificates.signing === rotation - 1) {
                reader.bad(
                    "certificates.retired",
                    c.retired,
                    `${rotation - 1} (or unset) while certificates.signing is ${rotation - 1}: the root of rotation ${rotation - 1} still signs, and a root that signs cannot be retired; set certificates.signing to ${rotation} in an up of its own first (the sign step), or unset it in this up for a deliberate hard cut (with certificates.rotation just raised)`,
                );
            } else certificates.retired = c.retired as number;
        }
    }

    const settings: StackSettings = {
        stack,
        workDir: path.join(env.projectDir, ".istio-minikube", stack),
        releaseCacheDir: path.join(env.homeDir, ".cache", PROJECT, "releases"),
        cluster,
        istio,
        images,
        injection,
        samples,
        gateway,
        addons,
        verify: reader.boolean("verify", values.get("verify"), defaults.verify),
        skipChecks: reader.list("skipChecks", values.get("skipChecks"), defaults.skipChecks, enumCheck(CHECK_NAMES), { unique: true }) as CheckName[],
        certificates,
        upsertExistingObjects: reader.boolean("upsertExistingObjects", values.get("upsertExistingObjects"), defaults.upsertExistingObjects),
    };
    if (problems.length > 0) throw new ConfigError(problems);
    return settings;
}

/** Keys whose value is a plain string; Pulumi hands the others over as JSON text (objects, lists, booleans). */
const STRING_KEYS = new Set(["cluster", "kubeContext"]);

/** Pulumi hands every config value over as a string; objects, lists, numbers and booleans as JSON text. */
function decode(raw: string): unknown {
    try {
        return JSON.parse(raw);
    } catch {
        return raw;
    }
}

function resolvePath(value: string, env: Environment): string {
    if (value.startsWith("~/")) return path.join(env.homeDir, value.slice(2));
    return path.resolve(env.projectDir, value);
}

const extraConfigCheck: v.Check = (value) => {
    const match = /^([a-z-]+)\.([A-Za-z0-9][A-Za-z0-9._-]*)=([A-Za-z0-9._,/:=+-]*)$/.exec(value);
    if (!match) {
        return "component.key=value, with a key of letters, digits, '.', '_', '-' and a value of letters, digits and . _ , / : = + -";
    }
    if (!(EXTRA_CONFIG_COMPONENTS as readonly string[]).includes(match[1])) {
        return `component.key=value with component one of ${EXTRA_CONFIG_COMPONENTS.join(", ")}`;
    }
    return undefined;
};

const releaseArchiveCheck: v.Check = (value) =>
    v.localPath(value) ?? (value.endsWith(".tar.gz") ? undefined : "a path to an istio-<version>-linux-amd64.tar.gz file");

/**
 * An http(s) URL of a `.tar.gz` (a mirror of Istio's release archive, or a server on this machine), of
 * characters that need no quoting: the script passes it to curl as one argument, and appends `.sha256`.
 */
const releaseUrlCheck: v.Check = (value) =>
    /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~%+-]+)*\/[A-Za-z0-9._~%+-]+\.tar\.gz$/.test(value) && value.length <= 2048
        ? undefined
        : "an http:// or https:// URL of an istio-<version>-<platform>.tar.gz, with its .sha256 at the same URL plus .sha256 (letters, digits and . _ ~ % + - / only)";

const imageCheck: v.Check = (value) => {
    try {
        parseImageReference(value);
        return undefined;
    } catch (err) {
        if (err instanceof ImageReferenceError) return `an image reference such as docker.io/istio/pilot:1.27.3 (${err.message})`;
        throw err;
    }
};

const namespaceCheck: v.Check = (value) => {
    const why = v.dnsLabel(value);
    if (why) return `a namespace name: ${why}`;
    if ((RESERVED_NAMESPACES as readonly string[]).includes(value) || value === OUTSIDE_MESH_NAMESPACE) {
        return `a namespace other than ${[...RESERVED_NAMESPACES, OUTSIDE_MESH_NAMESPACE].join(", ")}`;
    }
    return undefined;
};

function enumCheck(allowed: readonly string[]): v.Check {
    return (value) => (allowed.includes(value) ? undefined : `one of ${allowed.join(", ")}`);
}

type Loose = Record<string, unknown>;

/** Collects problems instead of throwing, so one run reports every bad key at once. */
class Reader {
    constructor(private readonly problems: string[]) {}

    bad(key: string, value: unknown, allowed: string): void {
        this.problems.push(`${PROJECT}:${key} = ${v.describeValue(value)} is not allowed: expected ${allowed}`);
    }

    object(key: string, value: unknown, fields: readonly string[]): Loose {
        if (value === undefined) return {};
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            this.bad(key, value, `an object with keys ${fields.join(", ")}`);
            return {};
        }
        for (const field of Object.keys(value)) {
            if (!fields.includes(field)) {
                this.problems.push(`${PROJECT}:${key}.${field}: unknown key; known keys are ${fields.join(", ")}`);
            }
        }
        return value as Loose;
    }

    string(key: string, value: unknown, fallback: string | undefined, check: v.Check): string | undefined {
        if (value === undefined) return fallback;
        if (typeof value !== "string") {
            this.bad(key, value, "a string");
            return fallback;
        }
        const why = check(value);
        if (why) {
            this.bad(key, value, why);
            return fallback;
        }
        return value;
    }

    enumeration<T extends string>(key: string, value: unknown, allowed: readonly T[], fallback: T): T {
        if (value === undefined) return fallback;
        if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
        this.bad(key, value, `one of ${allowed.join(", ")}`);
        return fallback;
    }

    integer(key: string, value: unknown, fallback: number, min: number, max: number, unit?: string): number {
        if (value === undefined) return fallback;
        if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return value;
        this.bad(key, value, `a whole number from ${min} to ${max}${unit ? ` (${unit})` : ""}`);
        return fallback;
    }

    boolean(key: string, value: unknown, fallback: boolean): boolean {
        if (value === undefined) return fallback;
        if (typeof value === "boolean") return value;
        this.bad(key, value, "true or false");
        return fallback;
    }

    list(key: string, value: unknown, fallback: string[], check: v.Check, opts: { unique: boolean }): string[] {
        if (value === undefined) return fallback;
        if (!Array.isArray(value)) {
            this.bad(key, value, "a list of strings");
            return fallback;
        }
        value.forEach((item, index) => {
            if (typeof item !== "string") {
                this.bad(`${key}[${index}]`, item, "a string");
                return;
            }
            const why = check(item);
            if (why) this.bad(`${key}[${index}]`, item, why);
            else if (opts.unique && value.indexOf(item) !== index) this.bad(`${key}[${index}]`, item, "no duplicates in the list");
        });
        return value.filter((item): item is string => typeof item === "string");
    }
}

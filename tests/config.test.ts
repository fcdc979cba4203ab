// parseSettings: the one place stack config is read. Input is shaped like pulumi.runtime.allConfig():
// keys "istio-minikube:<key>", values strings; objects, lists, numbers and booleans as JSON text, while
// cluster and kubeContext arrive as raw strings.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import {
    CONFIG_KEYS,
    ConfigError,
    PROJECT,
    StackSettings,
    defaultSettings,
    parseSettings,
} from "../components/config";
import { describeValue } from "../components/validate";

const REPO = path.resolve(__dirname, "..");
const ENV = { homeDir: "/home/tester", projectDir: "/work/project" };
const STRING_KEYS = new Set(["cluster", "kubeContext"]);

/** Builds allConfig()-shaped input from plain values, as the Pulumi CLI hands them to the program. */
function raw(values: Record<string, unknown>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(values)) {
        out[`${PROJECT}:${key}`] = STRING_KEYS.has(key) && typeof value === "string" ? value : JSON.stringify(value);
    }
    return out;
}

function parse(values: Record<string, unknown>, stack = "dev"): StackSettings {
    return parseSettings(raw(values), stack, ENV);
}

/** The problem lines of the ConfigError parseSettings must throw. */
function problemsOf(rawConfig: Record<string, string>, stack = "dev"): string[] {
    let thrown: unknown;
    try {
        parseSettings(rawConfig, stack, ENV);
    } catch (err) {
        thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const problems = (thrown as ConfigError).problems;
    expect(problems.length).toBeGreaterThan(0);
    return problems;
}

const problems = (values: Record<string, unknown>) => problemsOf(raw(values));

/** A `istio-minikube:<key> = <value> is not allowed: expected ...` line. */
function badLine(key: string, value: unknown): RegExp {
    const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return new RegExp(`^${escape(`${PROJECT}:${key} = ${describeValue(value)}`)} is not allowed: expected \\S`);
}

/** Puts `value` at a dotted key path (`minikube.cpus`, `images.extra[0]`) into a fresh config object. */
function at(keyPath: string, value: unknown): Record<string, unknown> {
    const match = /^([A-Za-z]+)(?:\.([A-Za-z]+))?(\[0\])?$/.exec(keyPath);
    if (!match) throw new Error(keyPath);
    const [, top, field, index] = match;
    const leaf = index ? [value] : value;
    const values: Record<string, unknown> = { [top]: field ? { [field]: leaf } : leaf };
    if (top === "kubeContext") values.cluster = "existing";
    return values;
}

describe("defaults", () => {
    test("no config gives the documented defaults", () => {
        const settings = parseSettings({}, "dev", ENV);
        expect(settings).toEqual({
            stack: "dev",
            workDir: "/work/project/.istio-minikube/dev",
            releaseCacheDir: "/home/tester/.cache/istio-minikube/releases",
            cluster: {
                kind: "minikube",
                minikube: {
                    profile: "istio-dev",
                    driver: "docker",
                    cpus: 4,
                    memory: 8192,
                    kubernetesVersion: "v1.35.1",
                    extraConfig: [],
                },
            },
            istio: { version: "1.30.3", mtls: "STRICT" },
            images: { preload: true, archiveDir: "/home/tester/.cache/istio-minikube/images", extra: [] },
            injection: { auto: ["default"], manual: [] },
            samples: ["sleep", "bookinfo"],
            gateway: { enabled: true, serviceType: "NodePort" },
            addons: ["prometheus", "kiali"],
            verify: true,
            skipChecks: [],
            certificates: { validityDays: 365, rotation: 0 },
            upsertExistingObjects: false,
        });
        expect(settings.istio).not.toHaveProperty("releaseArchive");
        expect(settings.istio).not.toHaveProperty("releaseUrl");
    });

    test("the defaults are defaultSettings(stack), with paths resolved", () => {
        const d = defaultSettings("prod");
        const settings = parseSettings({}, "prod", ENV);
        expect(settings.cluster).toEqual({ kind: d.cluster, minikube: d.minikube });
        expect(settings.istio).toEqual(d.istio);
        expect(settings.images).toEqual({ ...d.images, archiveDir: path.join(ENV.homeDir, d.images.archiveDir.slice(2)) });
        expect(settings.injection).toEqual(d.injection);
        expect(settings.samples).toEqual(d.samples);
        expect(settings.verify).toBe(d.verify);
        expect(settings.certificates).toEqual(d.certificates);
        expect(d.minikube.profile).toBe("istio-prod");
    });

    test("each object key falls back field by field", () => {
        const settings = parse({ minikube: { cpus: 8 }, istio: { mtls: "PERMISSIVE" }, certificates: { rotation: 2 } });
        expect(settings.cluster).toEqual({ kind: "minikube", minikube: { ...defaultSettings("dev").minikube, cpus: 8 } });
        expect(settings.istio).toEqual({ version: "1.30.3", mtls: "PERMISSIVE" });
        expect(settings.certificates).toEqual({ validityDays: 365, rotation: 2 });
    });

    test("keys of other namespaces are not ours and are ignored", () => {
        const settings = parseSettings(
            { "kubernetes:context": "prod; rm -rf /", "pulumi:tags": "{}", "aws:region": "x", "istio-minikube-other:cpus": "1" },
            "dev",
            ENV,
        );
        expect(settings).toEqual(parseSettings({}, "dev", ENV));
    });
});

describe("valid values", () => {
    test("every key set to a non-default value", () => {
        const settings = parse({
            minikube: {
                profile: "mesh.lab-1",
                driver: "kvm2",
                cpus: 64,
                memory: 4096,
                kubernetesVersion: "v1.32.0",
                extraConfig: [
                    "apiserver.enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount",
                    "kubelet.max-pods=150",
                    "kube-proxy.mode=ipvs",
                    "controller-manager.cluster-signing-cert-file=/var/lib/minikube/certs/ca.crt",
                ],
            },
            istio: { version: "1.30.3", releaseArchive: "downloads/istio-1.30.3-linux-amd64.tar.gz", mtls: "DISABLE" },
            images: { preload: false, archiveDir: "/var/cache/images", extra: ["nginx:1.27", "localhost:5000/app:dev"] },
            injection: { auto: ["default", "team-a"], manual: ["manual-inject"] },
            samples: ["bookinfo"],
            verify: false,
            certificates: { validityDays: 3650, rotation: 1000000 },
        });
        expect(settings.cluster).toEqual({
            kind: "minikube",
            minikube: {
                profile: "mesh.lab-1",
                driver: "kvm2",
                cpus: 64,
                memory: 4096,
                kubernetesVersion: "v1.32.0",
                extraConfig: [
                    "apiserver.enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount",
                    "kubelet.max-pods=150",
                    "kube-proxy.mode=ipvs",
                    "controller-manager.cluster-signing-cert-file=/var/lib/minikube/certs/ca.crt",
                ],
            },
        });
        expect(settings.istio).toEqual({
            version: "1.30.3",
            releaseArchive: "/work/project/downloads/istio-1.30.3-linux-amd64.tar.gz",
            mtls: "DISABLE",
        });
        expect(settings.images).toEqual({ preload: false, archiveDir: "/var/cache/images", extra: ["nginx:1.27", "localhost:5000/app:dev"] });
        expect(settings.injection).toEqual({ auto: ["default", "team-a"], manual: ["manual-inject"] });
        expect(settings.samples).toEqual(["bookinfo"]);
        expect(settings.verify).toBe(false);
        expect(settings.certificates).toEqual({ validityDays: 3650, rotation: 1000000 });
    });

    test("range limits are inclusive", () => {
        expect(parse({ minikube: { cpus: 2, memory: 262144 } }).cluster).toMatchObject({ minikube: { cpus: 2, memory: 262144 } });
        expect(parse({ certificates: { validityDays: 1, rotation: 0 } }).certificates).toEqual({ validityDays: 1, rotation: 0 });
    });

    test.each([
        ["ab", "two characters"],
        ["istio-dev", "plain"],
        ["Mesh.Lab-1.x2", "dots and capitals"],
        ["a".repeat(63), "63 characters"],
    ])("profile %j is allowed (%s)", (profile) => {
        expect(parse({ minikube: { profile } }).cluster).toMatchObject({ minikube: { profile } });
    });

    test.each([
        ["downloads/istio.tar.gz", "/work/project/downloads/istio.tar.gz"],
        ["./istio.tar.gz", "/work/project/istio.tar.gz"],
        ["../shared/istio.tar.gz", "/work/shared/istio.tar.gz"],
        ["~/Downloads/istio-1.30.3-linux-amd64.tar.gz", "/home/tester/Downloads/istio-1.30.3-linux-amd64.tar.gz"],
        ["/opt/istio/istio.tar.gz", "/opt/istio/istio.tar.gz"],
    ])("releaseArchive %j resolves to %j", (given, resolved) => {
        expect(parse({ istio: { releaseArchive: given } }).istio.releaseArchive).toBe(resolved);
    });

    test.each([
        ["cache/images", "/work/project/cache/images"],
        ["../images", "/work/images"],
        ["~/img", "/home/tester/img"],
        ["/srv/images/", "/srv/images"],
    ])("archiveDir %j resolves to %j", (given, resolved) => {
        expect(parse({ images: { archiveDir: given } }).images.archiveDir).toBe(resolved);
    });

    test("cluster existing with a kubeContext; minikube settings are not used", () => {
        const settings = parseSettings(
            { ...raw({ cluster: "existing", kubeContext: "arn:aws:eks:eu-west-1:123456789012:cluster/mesh" }) },
            "dev",
            ENV,
        );
        expect(settings.cluster).toEqual({ kind: "existing", kubeContext: "arn:aws:eks:eu-west-1:123456789012:cluster/mesh" });
    });

    test.each(["gke_proj_europe-west1_mesh", "user@cluster", "kind-kind", "1234", "true", "ctx.v2"])(
        "kubeContext %j stays the raw string (never JSON-decoded)",
        (kubeContext) => {
            const settings = parseSettings(raw({ cluster: "existing", kubeContext }), "dev", ENV);
            expect(settings.cluster).toEqual({ kind: "existing", kubeContext });
        },
    );

    test("Istio and Kubernetes versions at both ends of Istio 1.30's support range", () => {
        for (const kubernetesVersion of ["v1.32.0", "v1.36.9"]) {
            expect(parse({ minikube: { kubernetesVersion } }).cluster).toMatchObject({ minikube: { kubernetesVersion } });
        }
    });
});

describe("bad values", () => {
    // [key path, value, a phrase of what is allowed]
    const cases: Array<[string, unknown, string]> = [
        ["cluster", "kind", "one of minikube, existing"],
        ["cluster", "Minikube", "one of minikube, existing"],
        ["cluster", "", "one of minikube, existing"],
        ["kubeContext", "-ctx", "a kubeconfig context name"],
        ["kubeContext", "my context", "a kubeconfig context name"],
        ["kubeContext", "x".repeat(254), "a kubeconfig context name"],
        ["minikube", "big", "an object with keys profile, driver, cpus, memory, kubernetesVersion, extraConfig"],
        ["minikube", ["kvm2"], "an object with keys"],
        ["minikube", 4, "an object with keys"],
        ["minikube", null, "an object with keys"],
        ["minikube.profile", "a", "a minikube profile name: 2 to 63"],
        ["minikube.profile", "-x", "a minikube profile name"],
        ["minikube.profile", "a..b", "a minikube profile name"],
        ["minikube.profile", ".ab", "a minikube profile name"],
        ["minikube.profile", "ab.", "a minikube profile name"],
        ["minikube.profile", "ab-", "a minikube profile name"],
        ["minikube.profile", "a_b", "a minikube profile name"],
        ["minikube.profile", "a".repeat(64), "a minikube profile name"],
        ["minikube.profile", "", "a minikube profile name"],
        ["minikube.profile", 42, "a string"],
        ["minikube.driver", "hyperkit", "one of kvm2, docker, podman, qemu2, virtualbox, vfkit"],
        ["minikube.driver", "none", "one of kvm2, docker"],
        ["minikube.driver", "ssh", "one of kvm2, docker"],
        ["minikube.driver", "KVM2", "one of kvm2, docker"],
        ["minikube.driver", true, "one of kvm2, docker"],
        ["minikube.cpus", 1, "a whole number from 2 to 64"],
        ["minikube.cpus", 65, "a whole number from 2 to 64"],
        ["minikube.cpus", 0, "a whole number from 2 to 64"],
        ["minikube.cpus", -4, "a whole number from 2 to 64"],
        ["minikube.cpus", 4.5, "a whole number from 2 to 64"],
        ["minikube.cpus", "4", "a whole number from 2 to 64"],
        ["minikube.cpus", null, "a whole number from 2 to 64"],
        ["minikube.memory", 4095, "a whole number from 4096 to 262144 (MB"],
        ["minikube.memory", 262145, "a whole number from 4096 to 262144"],
        ["minikube.memory", "8g", "a whole number from 4096 to 262144"],
        ["minikube.memory", 8192.5, "a whole number from 4096 to 262144"],
        ["minikube.kubernetesVersion", "1.35.1", "a Kubernetes version such as v1.33.1"],
        ["minikube.kubernetesVersion", "v1.35", "a Kubernetes version"],
        ["minikube.kubernetesVersion", "latest", "a Kubernetes version"],
        ["minikube.kubernetesVersion", "V1.35.1", "a Kubernetes version"],
        ["minikube.kubernetesVersion", 1.35, "a string"],
        ["minikube.extraConfig", "apiserver.v=1", "a list of strings"],
        ["minikube.extraConfig", { a: 1 }, "a list of strings"],
        ["minikube.extraConfig[0]", "proxy.mode=ipvs", "component one of apiserver, controller-manager, scheduler, etcd, kubeadm, kubelet, kube-proxy"],
        ["minikube.extraConfig[0]", "kube-apiserver.v=2", "component one of"],
        ["minikube.extraConfig[0]", "apiserver.foo", "component.key=value"],
        ["minikube.extraConfig[0]", "apiserver=foo", "component.key=value"],
        ["minikube.extraConfig[0]", "apiserver.=foo", "component.key=value"],
        ["minikube.extraConfig[0]", ".foo=bar", "component.key=value"],
        ["minikube.extraConfig[0]", "Apiserver.v=1", "component.key=value"],
        ["minikube.extraConfig[0]", 7, "a string"],
        ["istio", "1.30.3", "an object with keys version, releaseArchive, releaseUrl, mtls"],
        ["istio.releaseUrl", "ftp://mirror.example/istio-1.30.3-linux-amd64.tar.gz", "an http:// or https:// URL of an istio-<version>-<platform>.tar.gz"],
        ["istio.releaseUrl", "https://mirror.example/istio.zip", "an http:// or https:// URL"],
        ["istio.releaseUrl", "https://mirror.example/a b/istio.tar.gz", "an http:// or https:// URL"],
        ["istio.releaseUrl", "https://mirror.example/x.tar.gz?token=1", "an http:// or https:// URL"],
        ["istio.releaseUrl", "https://user@mirror.example/x.tar.gz", "an http:// or https:// URL"],
        ["istio.releaseUrl", 7, "a string"],
        ["istio.version", "v1.30.3", "a release version such as 1.27.3"],
        ["istio.version", "1.30", "a release version"],
        ["istio.version", "latest", "a release version"],
        ["istio.version", "1.30.3-foo.1", "a release version"],
        ["istio.version", 1.3, "a string"],
        ["istio.releaseArchive", "istio-1.30.3-linux-amd64.zip", "a path to an istio-<version>-linux-amd64.tar.gz file"],
        ["istio.releaseArchive", "", "a path of 1 to 1024 characters"],
        ["istio.releaseArchive", "~user/istio.tar.gz", "a local path of letters"],
        ["istio.releaseArchive", false, "a string"],
        ["istio.mtls", "strict", "one of STRICT, PERMISSIVE, DISABLE"],
        ["istio.mtls", "OFF", "one of STRICT, PERMISSIVE, DISABLE"],
        ["istio.mtls", true, "one of STRICT, PERMISSIVE, DISABLE"],
        ["images", true, "an object with keys preload, archiveDir, extra"],
        ["images.preload", "true", "true or false"],
        ["images.preload", 1, "true or false"],
        ["images.preload", null, "true or false"],
        ["images.archiveDir", "", "a path of 1 to 1024 characters"],
        ["images.archiveDir", "a".repeat(1025), "a path of 1 to 1024 characters"],
        ["images.archiveDir", "-images", "not starting with '-'"],
        ["images.archiveDir", "~/-images", "not starting with '-'"],
        ["images.archiveDir", "~", "a local path of letters"],
        ["images.archiveDir", 3, "a string"],
        ["images.extra", "nginx", "a list of strings"],
        ["images.extra[0]", "UPPER/x", "an image reference such as docker.io/istio/pilot:1.27.3"],
        ["images.extra[0]", "", "an image reference"],
        ["images.extra[0]", "nginx:", "an image reference"],
        ["images.extra[0]", "a//b", "an image reference"],
        ["images.extra[0]", { image: "nginx" }, "a string"],
        ["injection", ["default"], "an object with keys auto, manual"],
        ["injection.auto", "default", "a list of strings"],
        ["injection.auto[0]", "Default", "a namespace name: a lowercase RFC 1123 label"],
        ["injection.auto[0]", "istio-system", "a namespace other than istio-system, istio-ingress, kube-system, kube-public, kube-node-lease, outside-mesh"],
        ["injection.manual[0]", "istio-ingress", "a namespace other than"],
        ["injection.auto[0]", "kube-system", "a namespace other than"],
        ["injection.auto[0]", "kube-public", "a namespace other than"],
        ["injection.auto[0]", "kube-node-lease", "a namespace other than"],
        ["injection.auto[0]", "outside-mesh", "a namespace other than"],
        ["injection.auto[0]", "team_a", "a namespace name"],
        ["injection.auto[0]", "team-", "a namespace name"],
        ["injection.auto[0]", "x".repeat(64), "a namespace name"],
        ["injection.auto[0]", "", "a namespace name"],
        ["injection.manual[0]", "Manual", "a namespace name"],
        ["injection.manual[0]", "outside-mesh", "a namespace other than"],
        ["injection.manual[0]", "istio-system", "a namespace other than"],
        ["injection.manual", { ns: "x" }, "a list of strings"],
        ["samples", "sleep", "a list of strings"],
        ["samples[0]", "httpbin", "one of sleep, bookinfo"],
        ["samples[0]", "Sleep", "one of sleep, bookinfo"],
        ["samples[0]", 1, "a string"],
        ["gateway", true, "an object with keys enabled, serviceType"],
        ["gateway.enabled", "yes", "true or false"],
        ["gateway.serviceType", "ClusterIP", "one of NodePort, LoadBalancer"],
        ["gateway.serviceType", "nodeport", "one of NodePort, LoadBalancer"],
        ["gateway.serviceType", "NodePort; rm -rf /", "one of NodePort, LoadBalancer"],
        ["addons", "kiali", "a list of strings"],
        ["addons[0]", "zipkin", "one of prometheus, kiali, grafana, jaeger"],
        ["addons[0]", "../kiali", "one of prometheus, kiali, grafana, jaeger"],
        ["addons[0]", 1, "a string"],
        ["verify", "yes", "true or false"],
        ["verify", 1, "true or false"],
        ["verify", "True", "true or false"],
        ["skipChecks", "curl-with-certificates", "a list of strings"],
        ["skipChecks[0]", "curl", "one of control-plane-ready, mtls-mode, sidecars-injected, curl-with-certificates, curl-without-certificates, plaintext-from-outside, ingress-productpage"],
        ["skipChecks[0]", 3, "a string"],
        ["upsertExistingObjects", "true", "true or false"],
        ["upsertExistingObjects", 1, "true or false"],
        ["certificates", 365, "an object with keys validityDays, rotation, retired, signing"],
        ["certificates.validityDays", 0, "a whole number from 1 to 3650"],
        ["certificates.validityDays", 3651, "a whole number from 1 to 3650"],
        ["certificates.validityDays", 1.5, "a whole number from 1 to 3650"],
        ["certificates.validityDays", "365", "a whole number from 1 to 3650"],
        ["certificates.rotation", -1, "a whole number from 0 to 1000000"],
        ["certificates.rotation", 1000001, "a whole number from 0 to 1000000"],
        ["certificates.rotation", 0.5, "a whole number from 0 to 1000000"],
        ["certificates.rotation", "1", "a whole number from 0 to 1000000"],
    ];

    test.each(cases)("%s = %j is rejected, naming the key, the value and what is allowed", (key, value, allowed) => {
        const found = problems(at(key, value));
        expect(found).toHaveLength(1);
        expect(found[0]).toMatch(badLine(key, value));
        expect(found[0]).toContain(allowed);
    });

    test("every top-level key has a bad-value case above", () => {
        const covered = new Set(cases.map(([key]) => key.split(/[.[]/)[0]));
        expect([...covered].sort()).toEqual([...CONFIG_KEYS].sort());
    });

    test.each([
        ["minikube.extraConfig", ["kubelet.max-pods=150", "kubelet.max-pods=150"]],
        ["images.extra", ["nginx:1.27", "nginx:1.27"]],
        ["injection.auto", ["team-a", "team-a"]],
        ["injection.manual", ["m", "m"]],
        ["samples", ["sleep", "sleep"]],
        ["addons", ["kiali", "kiali"]],
    ])("duplicates in %s are rejected", (key, list) => {
        const found = problems(at(key, list));
        expect(found).toEqual([expect.stringMatching(badLine(`${key}[1]`, list[1]))]);
        expect(found[0]).toContain("no duplicates in the list");
    });

    test("a namespace in both auto and manual is rejected", () => {
        expect(problems({ injection: { auto: ["default", "shared"], manual: ["shared"] } })).toEqual([
            `${PROJECT}:injection: namespace "shared" is in both auto and manual; a namespace is injected one way`,
        ]);
    });

    test.each([
        ["v1.31.0", "v1.32.x to v1.36.x"],
        ["v1.37.0", "v1.32.x to v1.36.x"],
        ["v1.28.15", "v1.32.x to v1.36.x"],
    ])("Kubernetes %s with Istio 1.30.3 is rejected", (kubernetesVersion, range) => {
        const found = problems({ minikube: { kubernetesVersion }, istio: { version: "1.30.3" } });
        expect(found).toHaveLength(1);
        expect(found[0]).toContain(`${PROJECT}:minikube.kubernetesVersion = "${kubernetesVersion}" is not allowed with Istio 1.30.3`);
        expect(found[0]).toContain(range);
    });
});

describe("cluster and kubeContext", () => {
    test("cluster existing without kubeContext is an error", () => {
        expect(problemsOf(raw({ cluster: "existing" }))).toEqual([
            expect.stringContaining(`${PROJECT}:kubeContext is missing: with cluster "existing"`),
        ]);
    });

    test("an empty kubeContext counts as missing (Pulumi.yaml declares the default \"\")", () => {
        expect(problemsOf(raw({ cluster: "existing", kubeContext: "" }))).toEqual([
            expect.stringContaining(`${PROJECT}:kubeContext is missing`),
        ]);
    });

    test("kubeContext with cluster minikube is an error", () => {
        const found = problemsOf(raw({ kubeContext: "my-cluster" }));
        expect(found).toEqual([
            `${PROJECT}:kubeContext = "my-cluster" is only used with cluster "existing"; remove it, or set cluster to "existing"`,
        ]);
        expect(problemsOf(raw({ cluster: "minikube", kubeContext: "x" }))).toHaveLength(1);
    });

    test("an empty kubeContext with cluster minikube is fine", () => {
        expect(parseSettings(raw({ cluster: "minikube", kubeContext: "" }), "dev", ENV).cluster.kind).toBe("minikube");
    });
});

describe("certificates.retired", () => {
    const certificates = (c: Record<string, unknown>) => parse({ certificates: c }).certificates;

    test("unset, the previous root stays trusted; rotation retires it; rotation - 1 says the same as unset", () => {
        expect(certificates({ rotation: 1 })).toEqual({ validityDays: 365, rotation: 1 });
        expect(certificates({ rotation: 1, retired: 1 })).toEqual({ validityDays: 365, rotation: 1, retired: 1 });
        expect(certificates({ rotation: 2, retired: 1 })).toEqual({ validityDays: 365, rotation: 2, retired: 1 });
        expect(certificates({ retired: 0 })).toEqual({ validityDays: 365, rotation: 0, retired: 0 });
    });

    test.each([
        [{ rotation: 3, retired: 1 }, 1, "2 or 3: certificates.rotation (3) retires the root it replaced, 2 keeps it trusted (as unset does)"],
        [{ rotation: 1, retired: 2 }, 2, "0 or 1: certificates.rotation (1) retires the root it replaced, 0 keeps it trusted (as unset does)"],
        [{ rotation: 0, retired: -1 }, -1, "0: certificates.rotation (0) retires the root it replaced"],
        [{ rotation: 1, retired: "1" }, "1", "0 or 1: certificates.rotation (1) retires the root it replaced, 0 keeps it trusted (as unset does)"],
    ])("%j is rejected, naming the key, the value and the two values allowed", (c, value, allowed) => {
        expect(problems({ certificates: c })).toEqual([`${PROJECT}:certificates.retired = ${JSON.stringify(value)} is not allowed: expected ${allowed}`]);
    });
});

describe("certificates.signing", () => {
    const certificates = (c: Record<string, unknown>) => parse({ certificates: c }).certificates;

    test("unset, the newest root signs; rotation - 1 keeps the root it replaced signing (the trust step); rotation says the same as unset", () => {
        expect(certificates({ rotation: 1, signing: 0 })).toEqual({ validityDays: 365, rotation: 1, signing: 0 });
        expect(certificates({ rotation: 1, signing: 1 })).toEqual({ validityDays: 365, rotation: 1, signing: 1 });
        expect(certificates({ rotation: 2, signing: 1, retired: 1 })).toEqual({ validityDays: 365, rotation: 2, signing: 1, retired: 1 });
        expect(certificates({ rotation: 1, signing: 1, retired: 1 })).toEqual({ validityDays: 365, rotation: 1, signing: 1, retired: 1 });
    });

    test.each([
        [{ rotation: 3, signing: 1 }, 1, "2 or 3: 3 has the root of certificates.rotation sign (as unset does), 2 has the root it replaced go on signing while the new one is only trusted (the trust step)"],
        [{ rotation: 0, signing: -1 }, -1, "0: 0 has the root of certificates.rotation sign (as unset does)"],
        [{ rotation: 1, signing: true }, true, "0 or 1: 1 has the root of certificates.rotation sign (as unset does), 0 has the root it replaced go on signing while the new one is only trusted (the trust step)"],
    ])("%j is rejected, naming the key, the value and the two values allowed", (c, value, allowed) => {
        expect(problems({ certificates: c })).toEqual([`${PROJECT}:certificates.signing = ${JSON.stringify(value)} is not allowed: expected ${allowed}`]);
    });

    test("the root that still signs cannot be retired: retired = rotation with signing = rotation - 1 is rejected, saying to sign first", () => {
        expect(problems({ certificates: { rotation: 2, signing: 1, retired: 2 } })).toEqual([
            `${PROJECT}:certificates.retired = 2 is not allowed: expected 1 (or unset) while certificates.signing is 1: the root of rotation 1 still signs, and a root that signs cannot be retired; set certificates.signing to 2 in an up of its own first (the sign step), or unset it in this up for a deliberate hard cut (with certificates.rotation just raised)`,
        ]);
    });

    test("with a bad rotation, only the rotation is reported", () => {
        expect(problems({ certificates: { rotation: -1, signing: 5, retired: 7 } })).toEqual([expect.stringMatching(/^istio-minikube:certificates\.rotation = -1 is not allowed/)]);
    });
});

describe("unknown keys", () => {
    test.each(["foo", "minikube.cpus", "Cluster", "kubecontext", "sample"])("top-level key %j is reported", (key) => {
        const found = problemsOf({ [`${PROJECT}:${key}`]: "1" });
        expect(found).toEqual([
            `${PROJECT}:${key}: unknown key; known keys are ${CONFIG_KEYS.map((k) => `${PROJECT}:${k}`).join(", ")}`,
        ]);
    });

    test.each([
        ["minikube", "cpu", "profile, driver, cpus, memory, kubernetesVersion, extraConfig"],
        ["minikube", "extra-config", "profile, driver, cpus, memory, kubernetesVersion, extraConfig"],
        ["istio", "mTLS", "version, releaseArchive, releaseUrl, mtls"],
        ["images", "preLoad", "preload, archiveDir, extra"],
        ["injection", "automatic", "auto, manual"],
        ["certificates", "validity", "validityDays, rotation, retired, signing"],
    ])("nested key %s.%s is reported", (top, field, known) => {
        expect(problems({ [top]: { [field]: 1 } })).toEqual([`${PROJECT}:${top}.${field}: unknown key; known keys are ${known}`]);
    });
});

describe("hostile values", () => {
    // Each string-typed field, with a template whose "{}" is replaced by the payload, so that only the
    // payload can make the value invalid (a releaseArchive must still end in .tar.gz, and so on).
    const fields: Array<[string, string]> = [
        ["cluster", "mini{}kube"],
        ["kubeContext", "my{}-cluster"],
        ["minikube.profile", "istio{}-dev"],
        ["minikube.driver", "dock{}er"],
        ["minikube.kubernetesVersion", "v1.35{}.1"],
        ["minikube.extraConfig[0]", "apiserver.v=2{}"],
        ["minikube.extraConfig[0]", "apiserver.enable-admission-plugins=A,{}B"],
        ["istio.version", "1.30{}.3"],
        ["istio.releaseArchive", "downloads/istio{}-1.30.3-linux-amd64.tar.gz"],
        ["istio.releaseUrl", "http://127.0.0.1:8080/istio{}-1.30.3-linux-amd64.tar.gz"],
        ["skipChecks[0]", "mtls{}-mode"],
        ["istio.mtls", "STRICT{}"],
        ["images.archiveDir", "~/cache{}/images"],
        ["images.extra[0]", "docker.io/istio/{}pilot:1.30.3"],
        ["images.extra[0]", "istio/pilot:1.30{}.3"],
        ["injection.auto[0]", "team{}-a"],
        ["injection.manual[0]", "manual{}-inject"],
        ["samples[0]", "sleep{}"],
    ];
    const payloads = [
        "; touch /tmp/pwned",
        ";id",
        "$(touch /tmp/pwned)",
        "${IFS}id",
        "`id`",
        "|id",
        "&&id",
        "&",
        "\nid",
        "\rid",
        "\0",
        "'",
        '"',
        " ",
        "\t",
        ">out",
        "<in",
        "\\",
        "*",
        "#",
        "\u00a0",
    ];

    const cases = fields.flatMap(([key, template]) => payloads.map((p) => [key, template.replace("{}", p)] as [string, string]));
    test.each(cases)("%s = %j is rejected", (key, value) => {
        const found = problems(at(key, value));
        expect(found).toContainEqual(expect.stringMatching(badLine(key, value)));
        // The value is shown escaped: no raw control character reaches the message.
        for (const line of found) expect(line).not.toMatch(/[\0\n\r\t]/);
    });

    // Option-like values: each would read as a flag if it ever reached a command line unquoted.
    const optionLike: Array<[string, string]> = [
        ["cluster", "-minikube"],
        ["kubeContext", "-ctx"],
        ["kubeContext", "--kubeconfig=/tmp/x"],
        ["minikube.profile", "-p"],
        ["minikube.profile", "--profile=x"],
        ["minikube.driver", "--driver=none"],
        ["minikube.kubernetesVersion", "-v1.35.1"],
        ["minikube.extraConfig[0]", "-apiserver.v=1"],
        ["minikube.extraConfig[0]", "--extra-config=apiserver.v=1"],
        ["istio.version", "-1.30.3"],
        ["istio.releaseArchive", "-istio.tar.gz"],
        ["istio.releaseArchive", "~/-istio.tar.gz"],
        ["istio.mtls", "-STRICT"],
        ["images.archiveDir", "--dir"],
        ["images.extra[0]", "-nginx"],
        ["images.extra[0]", "--nginx:1"],
        ["injection.auto[0]", "-n"],
        ["injection.manual[0]", "--all-namespaces"],
        ["samples[0]", "-sleep"],
    ];
    test.each(optionLike)("option-like %s = %j is rejected", (key, value) => {
        expect(problems(at(key, value))).toContainEqual(expect.stringMatching(badLine(key, value)));
    });

    // Path tricks where the field is a name, not a path (paths may be relative: `../cache` is fine there).
    const pathTricks: Array<[string, string]> = [
        ["kubeContext", "../ctx"],
        ["kubeContext", ".."],
        ["minikube.profile", "../x"],
        ["minikube.profile", ".."],
        ["minikube.profile", "a/../b"],
        ["minikube.profile", "a/b"],
        ["minikube.extraConfig[0]", "../apiserver.v=1"],
        ["images.extra[0]", "../x"],
        ["images.extra[0]", "a/../b"],
        ["images.extra[0]", "a/./b"],
        ["images.extra[0]", "./x"],
        ["injection.auto[0]", "../default"],
        ["injection.auto[0]", ".."],
        ["injection.manual[0]", "a/b"],
        ["samples[0]", "../sleep"],
        ["istio.version", "../1.30.3"],
    ];
    test.each(pathTricks)("path trick %s = %j is rejected", (key, value) => {
        expect(problems(at(key, value))).toContainEqual(expect.stringMatching(badLine(key, value)));
    });
});

describe("every problem in one error", () => {
    test("all problems are reported at once, one line each, naming the full key, the value and what is allowed", () => {
        const rawConfig = {
            ...raw({
                cluster: "minikube",
                kubeContext: "ctx",
                minikube: { profile: "a", driver: "hyperkit", cpus: 1, memory: 1024, kubernetesVersion: "1.35.1", extraConfig: ["proxy.x=y"], bogus: 1 },
                istio: { version: "latest", releaseArchive: "x.zip", mtls: "strict" },
                images: { preload: "yes", archiveDir: "-x", extra: ["UPPER/x"] },
                injection: { auto: ["Default", "outside-mesh", "dup", "dup"], manual: ["istio-system"] },
                samples: ["httpbin"],
                verify: "maybe",
                certificates: { validityDays: 0, rotation: -1 },
            }),
            [`${PROJECT}:unknownKey`]: "1",
            "kubernetes:context": "ignored",
        };
        let error: ConfigError | undefined;
        try {
            parseSettings(rawConfig, "dev", ENV);
        } catch (err) {
            error = err as ConfigError;
        }
        expect(error).toBeInstanceOf(ConfigError);
        const expected = [
            `${PROJECT}:unknownKey: unknown key`,
            `${PROJECT}:kubeContext = "ctx" is only used with cluster "existing"`,
            `${PROJECT}:minikube.bogus: unknown key`,
            `${PROJECT}:minikube.profile = "a" is not allowed: expected a minikube profile name`,
            `${PROJECT}:minikube.driver = "hyperkit" is not allowed: expected one of kvm2`,
            `${PROJECT}:minikube.cpus = 1 is not allowed: expected a whole number from 2 to 64`,
            `${PROJECT}:minikube.memory = 1024 is not allowed: expected a whole number from 4096 to 262144`,
            `${PROJECT}:minikube.kubernetesVersion = "1.35.1" is not allowed: expected a Kubernetes version`,
            `${PROJECT}:minikube.extraConfig[0] = "proxy.x=y" is not allowed: expected component.key=value with component one of`,
            `${PROJECT}:istio.version = "latest" is not allowed: expected a release version`,
            `${PROJECT}:istio.releaseArchive = "x.zip" is not allowed: expected a path to an istio-<version>-linux-amd64.tar.gz file`,
            `${PROJECT}:istio.mtls = "strict" is not allowed: expected one of STRICT, PERMISSIVE, DISABLE`,
            `${PROJECT}:images.archiveDir = "-x" is not allowed: expected a local path`,
            `${PROJECT}:images.preload = "yes" is not allowed: expected true or false`,
            `${PROJECT}:images.extra[0] = "UPPER/x" is not allowed: expected an image reference`,
            `${PROJECT}:injection.auto[0] = "Default" is not allowed: expected a namespace name`,
            `${PROJECT}:injection.auto[1] = "outside-mesh" is not allowed: expected a namespace other than`,
            `${PROJECT}:injection.auto[3] = "dup" is not allowed: expected no duplicates in the list`,
            `${PROJECT}:injection.manual[0] = "istio-system" is not allowed: expected a namespace other than`,
            `${PROJECT}:samples[0] = "httpbin" is not allowed: expected one of sleep, bookinfo`,
            `${PROJECT}:certificates.validityDays = 0 is not allowed: expected a whole number from 1 to 3650`,
            `${PROJECT}:certificates.rotation = -1 is not allowed: expected a whole number from 0 to 1000000`,
            `${PROJECT}:verify = "maybe" is not allowed: expected true or false`,
        ];
        expect(error!.problems).toHaveLength(expected.length);
        for (const start of expected) {
            expect(error!.problems).toContainEqual(expect.stringContaining(start));
        }
        // One message: a heading, one "  - " line per problem, and how to fix it.
        const lines = error!.message.split("\n");
        expect(lines[0]).toBe("Invalid stack configuration (nothing was created):");
        expect(lines.slice(1, 1 + expected.length)).toEqual(error!.problems.map((p) => `  - ${p}`));
        expect(lines[1 + expected.length]).toMatch(/pulumi config set --path/);
        expect(error!.message).not.toContain("ignored");
    });

    test("an Istio/Kubernetes mismatch is reported together with the other problems", () => {
        const found = problems({ minikube: { cpus: 1, kubernetesVersion: "v1.31.0" }, verify: "no" });
        expect(found).toHaveLength(3);
        expect(found).toContainEqual(expect.stringContaining(`${PROJECT}:minikube.cpus = 1 is not allowed`));
        expect(found).toContainEqual(expect.stringContaining(`${PROJECT}:minikube.kubernetesVersion = "v1.31.0" is not allowed with Istio 1.30.3`));
        expect(found).toContainEqual(expect.stringContaining(`${PROJECT}:verify = "no" is not allowed`));
    });

    test("no mismatch is claimed when a version itself is invalid (it would be checked against a fallback)", () => {
        const badIstio = problems({ minikube: { kubernetesVersion: "v1.31.0" }, istio: { version: "v1.30.3" } });
        expect(badIstio).toEqual([expect.stringMatching(badLine("istio.version", "v1.30.3"))]);
        const badKubernetes = problems({ minikube: { kubernetesVersion: "1.31.0" } });
        expect(badKubernetes).toEqual([expect.stringMatching(badLine("minikube.kubernetesVersion", "1.31.0"))]);
        // istio of the wrong type: its version falls back to the default, which says nothing about the user's.
        const badIstioObject = problems({ minikube: { kubernetesVersion: "v1.31.0" }, istio: "1.29.0" });
        expect(badIstioObject).toEqual([expect.stringMatching(badLine("istio", "1.29.0"))]);
    });

    test("ConfigError is a Pulumi RunError (printed without a stack trace)", () => {
        try {
            parse({ verify: "x" });
            throw new Error("no error");
        } catch (err) {
            expect(err).toBeInstanceOf(pulumi.RunError);
            expect((err as Error).name).toBe("ConfigError");
        }
    });
});

describe("Pulumi.yaml", () => {
    const project = YAML.parse(fs.readFileSync(path.join(REPO, "Pulumi.yaml"), "utf8")) as {
        name: string;
        config: Record<string, { type?: string; description?: string; default?: unknown; items?: { type?: string } }>;
    };
    const declared = project.config;
    const defaults = defaultSettings("any");

    test("the project name is the config namespace", () => {
        expect(project.name).toBe(PROJECT);
    });

    test("declares exactly CONFIG_KEYS", () => {
        expect(Object.keys(declared).sort()).toEqual([...CONFIG_KEYS].sort());
    });

    test.each([...CONFIG_KEYS])("%s has a type, a description and a default of that type", (key) => {
        const spec = declared[key];
        expect(["string", "integer", "boolean", "array", "object"]).toContain(spec.type);
        expect(typeof spec.description).toBe("string");
        expect(spec.description!.trim().length).toBeGreaterThan(10);
        expect(spec).toHaveProperty("default");
        const value = spec.default;
        const actualType = Array.isArray(value) ? "array" : value === null ? "null" : typeof value === "number" ? "integer" : typeof value;
        expect(actualType).toBe(spec.type);
        if (spec.type === "array") expect(spec.items?.type).toBe("string");
    });

    test("declared defaults equal the code defaults", () => {
        const { profile, ...minikubeWithoutProfile } = defaults.minikube;
        expect(profile).toBe("istio-any");
        expect(declared.minikube.default).not.toHaveProperty("profile");
        expect(declared.cluster.default).toBe(defaults.cluster);
        expect(declared.kubeContext.default).toBe("");
        expect(declared.minikube.default).toEqual(minikubeWithoutProfile);
        expect(declared.istio.default).toEqual(defaults.istio);
        expect(declared.images.default).toEqual(defaults.images);
        expect(declared.injection.default).toEqual(defaults.injection);
        expect(declared.samples.default).toEqual(defaults.samples);
        expect(declared.gateway.default).toEqual(defaults.gateway);
        expect(declared.addons.default).toEqual(defaults.addons);
        expect(declared.verify.default).toBe(defaults.verify);
        expect(declared.certificates.default).toEqual(defaults.certificates);
    });

    /** What the CLI hands the program: project defaults, overridden per key by the stack file. */
    function cliConfig(stackFile?: string): Record<string, string> {
        const out: Record<string, string> = {};
        const put = (key: string, value: unknown) => {
            out[key] = typeof value === "string" ? value : JSON.stringify(value);
        };
        for (const [key, spec] of Object.entries(declared)) put(`${PROJECT}:${key}`, spec.default);
        if (stackFile) {
            const stack = YAML.parse(fs.readFileSync(path.join(REPO, stackFile), "utf8")) as { config?: Record<string, unknown> };
            for (const [key, value] of Object.entries(stack.config ?? {})) put(key, value);
        }
        return out;
    }

    test("with only the declared defaults set, the program sees the same settings as with no config", () => {
        expect(parseSettings(cliConfig(), "dev", ENV)).toEqual(parseSettings({}, "dev", ENV));
    });

    test.each(fs.readdirSync(REPO).filter((f) => /^Pulumi\..+\.yaml$/.test(f)))("the example stack %s is valid", (file) => {
        const stack = file.replace(/^Pulumi\.|\.yaml$/g, "");
        expect(() => parseSettings(cliConfig(file), stack, ENV)).not.toThrow();
    });

    test("dev shows bookinfo on a node port with Prometheus and Kiali; the cluster stack asks for a load balancer and no dashboards", () => {
        const dev = parseSettings(cliConfig("Pulumi.dev.yaml"), "dev", ENV);
        expect(dev.gateway).toEqual({ enabled: true, serviceType: "NodePort" });
        expect(dev.addons).toEqual(["prometheus", "kiali"]);
        const cluster = parseSettings(cliConfig("Pulumi.cluster.yaml"), "cluster", ENV);
        expect(cluster.gateway).toEqual({ enabled: true, serviceType: "LoadBalancer" });
        expect(cluster.addons).toEqual([]);
    });
});

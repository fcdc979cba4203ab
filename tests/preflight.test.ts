// Preflight: which host tools a stack needs, and the real preflight.sh run against a PATH that holds
// exactly the tools a test chooses (fakes, plus bash and dirname, which the script itself runs on).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { MINIKUBE_DRIVERS, StackSettings, parseSettings } from "../components/config";
import { DRIVER_TOOLS, checkTools, preflightEnvironment, requiredTools } from "../components/cluster/preflight";
import { FakeBin, createFakeBin, systemBin } from "./helpers/fakeBin";

const REPO = path.resolve(__dirname, "..");
const ENV = { homeDir: "/home/tester", projectDir: REPO };
const BASE = ["kubectl", "curl", "tar", "sha256sum"];

function settings(values: Record<string, unknown>): StackSettings {
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) raw[`istio-minikube:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    return parseSettings(raw, "dev", ENV);
}

// The scripts run with a PATH of the test's fakes plus bash, dirname and sed, which they themselves run on.
let bin: FakeBin;
let sys: string;
beforeAll(() => {
    sys = systemBin(["bash", "dirname", "sed"]);
});
afterAll(() => fs.rmSync(sys, { recursive: true, force: true }));
afterEach(() => bin?.cleanup());

describe("requiredTools", () => {
    test("minikube with kvm2 and preload: minikube, virsh, docker, xz and the base tools", () => {
        expect(requiredTools(settings({ minikube: { driver: "kvm2" } }))).toEqual([
            "kubectl",
            "curl",
            "tar",
            "sha256sum",
            "minikube",
            "virsh",
            "docker",
            "xz",
        ]);
    });

    test("docker driver with preload: docker once", () => {
        expect(requiredTools(settings({ minikube: { driver: "docker" } }))).toEqual([...BASE, "minikube", "docker", "xz"]);
    });

    test("the defaults are the docker driver with preload", () => {
        expect(requiredTools(settings({}))).toEqual([...BASE, "minikube", "docker", "xz"]);
    });

    test("preload false: no docker and no xz, unless the driver is docker", () => {
        expect(requiredTools(settings({ minikube: { driver: "kvm2" }, images: { preload: false } }))).toEqual([
            ...BASE,
            "minikube",
            "virsh",
        ]);
        expect(requiredTools(settings({ minikube: { driver: "docker" }, images: { preload: false } }))).toEqual([
            ...BASE,
            "minikube",
            "docker",
        ]);
    });

    test("cluster existing: no minikube, no driver tool, no docker, no xz, even with preload on", () => {
        const tools = requiredTools(settings({ cluster: "existing", kubeContext: "ctx", images: { preload: true } }));
        expect(tools).toEqual(BASE);
    });

    test.each([...MINIKUBE_DRIVERS])("driver %s needs its host tool", (driver) => {
        const tools = requiredTools(settings({ minikube: { driver }, images: { preload: false } }));
        expect(tools).toEqual([...BASE, "minikube", DRIVER_TOOLS[driver]]);
        expect(new Set(tools).size).toBe(tools.length);
    });
});

describe("checkTools with the real preflight.sh", () => {
    const check = (tools: string[]) => checkTools(tools, REPO, { PATH: `${bin.dir}:${sys}`, HOME: bin.workDir });
    const WORKING_DOCKER = `[ "$1" = version ] && echo 27.3.1; exit 0`;
    // What each tool prints for the command preflight.sh asks it for its version.
    const KUBECTL_135 = `[ "$1" = version ] && printf 'Client Version: v1.35.1\\nKustomize Version: v5.7.1\\n'; exit 0`;
    const MINIKUBE_1381 = `[ "$1" = version ] && echo v1.38.1; exit 0`;

    test("every missing tool is reported with its install hint, in one message", () => {
        bin = createFakeBin({ kubectl: KUBECTL_135, curl: "" });
        const tools = requiredTools(settings({ minikube: { driver: "kvm2" } }));
        const result = check(tools);
        expect(result.ok).toBe(false);
        const lines = result.report.split("\n");
        expect(lines[0]).toBe("Missing prerequisites (nothing was created):");
        const missing: Array<[string, string]> = [
            ["tar", "tar, from your system's package manager"],
            ["sha256sum", "coreutils"],
            ["minikube", "https://minikube.sigs.k8s.io/docs/start/"],
            ["virsh", "libvirt"],
            ["docker", "https://docs.docker.com/engine/install/"],
            ["xz", "xz-utils"],
        ];
        expect(lines.slice(1)).toHaveLength(missing.length);
        missing.forEach(([tool, hint], i) => {
            expect(lines[1 + i]).toMatch(new RegExp(`^  - ${tool}: not found; install `));
            expect(lines[1 + i]).toContain(hint);
        });
        expect(result.report).not.toMatch(/kubectl|curl:/);
    });

    test("all present: ok", () => {
        bin = createFakeBin({ kubectl: KUBECTL_135, curl: "", tar: "", sha256sum: "", minikube: MINIKUBE_1381, virsh: "", docker: WORKING_DOCKER, xz: "" });
        const tools = requiredTools(settings({ minikube: { driver: "kvm2" } }));
        const result = check(tools);
        expect(result).toEqual({ ok: true, report: `All prerequisites found: ${tools.join(" ")}` });
        expect(bin.callsOf("docker")).toEqual([["version", "--format", "{{.Server.Version}}"]]);
        // Tools with a version floor say their version; docker says its daemon answers; the rest are only looked up.
        expect(bin.calls()).toEqual([
            { tool: "kubectl", args: ["version", "--client"] },
            { tool: "minikube", args: ["version", "--short"] },
            { tool: "docker", args: ["version", "--format", "{{.Server.Version}}"] },
        ]);
    });

    test("every tool any stack can need is known to preflight.sh", () => {
        const all = new Set<string>();
        for (const driver of MINIKUBE_DRIVERS) {
            for (const preload of [true, false]) requiredTools(settings({ minikube: { driver }, images: { preload } })).forEach((t) => all.add(t));
        }
        requiredTools(settings({ cluster: "existing", kubeContext: "c" })).forEach((t) => all.add(t));
        const bodies: Record<string, string> = { docker: WORKING_DOCKER, kubectl: KUBECTL_135, minikube: MINIKUBE_1381 };
        bin = createFakeBin(Object.fromEntries([...all].map((t) => [t, bodies[t] ?? ""])));
        expect(check([...all])).toMatchObject({ ok: true });
        // And each has a hint: with none installed, every one is reported with an install line.
        const empty = createFakeBin();
        try {
            const result = checkTools([...all], REPO, { PATH: `${empty.dir}:${sys}` });
            expect(result.ok).toBe(false);
            for (const tool of all) expect(result.report).toMatch(new RegExp(`^  - ${tool}: not found; install \\S`, "m"));
        } finally {
            empty.cleanup();
        }
    });

    test("a docker whose daemon does not answer is reported", () => {
        bin = createFakeBin({
            kubectl: KUBECTL_135,
            docker: `[ "$1" = version ] && { echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" >&2; exit 1; }; exit 0`,
        });
        const result = check(["kubectl", "docker"]);
        expect(result.ok).toBe(false);
        expect(result.report).toBe(
            "Missing prerequisites (nothing was created):\n" +
                "  - docker: installed, but the Docker daemon does not answer; start it, or add your user to the 'docker' group",
        );
        expect(bin.callsOf("docker")).toEqual([["version", "--format", "{{.Server.Version}}"]]);
    });

    test("a docker that is not installed is reported as not found, not as a silent daemon", () => {
        bin = createFakeBin({ kubectl: KUBECTL_135 });
        const result = check(["kubectl", "minikube", "docker"]);
        expect(result.ok).toBe(false);
        expect(result.report.split("\n").slice(1)).toEqual([
            expect.stringMatching(/^  - minikube: not found; install minikube: \S+ \(version 1\.38\.1 or newer\)$/),
            expect.stringMatching(/^  - docker: not found; install Docker Engine/),
        ]);
    });

    describe("version floors", () => {
        test.each([
            ["pulumi", "v3.186.9", "3.187.0", /object-typed config keys/],
            ["pulumi", "v2.25.2", "3.187.0", /object-typed config keys/],
            ["minikube", "v1.37.0", "1.38.1", /checked against/],
            ["kubectl", "Client Version: v1.30.4", "1.31.0", /one minor version/],
        ])("%s %s is too old: the report names the minimum and why", (tool, printed, floor, why) => {
            bin = createFakeBin({ [tool]: `[ "$1" = version ] && echo ${JSON.stringify(printed)}; exit 0` });
            const result = check([tool]);
            expect(result.ok).toBe(false);
            const have = /v?(\d+\.\d+\.\d+)/.exec(printed)![1];
            const line = result.report.split("\n")[1];
            expect(line.startsWith(`  - ${tool}: version ${have} is too old; ${floor} or newer is needed (`)).toBe(true);
            expect(line).toMatch(why);
            expect(line).toMatch(/; install \S/);
        });

        test.each([
            ["pulumi", "v3.187.0"],
            ["pulumi", "v3.248.0"],
            ["pulumi", "v4.0.0"],
            ["minikube", "v1.38.1"],
            ["minikube", "v1.40.0-beta.0"],
            ["minikube", "v2.0.0"],
            ["kubectl", "Client Version: v1.31.0\nKustomize Version: v5.7.1"],
            // kubectl before 1.28 printed a Go struct; its first X.Y.Z is still the client version.
            ["kubectl", 'Client Version: version.Info{Major:"1", Minor:"36", GitVersion:"v1.36.0"}'],
        ])("%s %j is new enough", (tool, printed) => {
            bin = createFakeBin({ [tool]: `[ "$1" = version ] && printf '%s\\n' ${JSON.stringify(printed).replace(/\\n/g, "\n")}; exit 0` });
            expect(check([tool])).toEqual({ ok: true, report: `All prerequisites found: ${tool}` });
        });

        test("numbers compare as numbers, not text: 3.1000.0 is newer than 3.187.0, 3.99.0 older", () => {
            bin = createFakeBin({ pulumi: `echo v3.1000.0` });
            expect(check(["pulumi"]).ok).toBe(true);
            bin.add("pulumi", `echo v3.99.0`);
            expect(check(["pulumi"]).report).toContain("version 3.99.0 is too old");
        });

        test("a minikube stack's kubectl must be within one minor version of the stack's Kubernetes", () => {
            bin = createFakeBin({ kubectl: `echo "Client Version: v1.33.4"` });
            const tools = ["kubectl"];
            const minikube = settings({ minikube: { kubernetesVersion: "v1.35.1" } });
            const result = checkTools(tools, REPO, { PATH: `${bin.dir}:${sys}`, ...preflightEnvironment(minikube) });
            expect(result.report).toContain(
                "  - kubectl: version 1.33.4 is too old; 1.34.0 or newer is needed (kubectl supports API servers one minor version away, and this stack runs Kubernetes v1.35.1)",
            );
            // An existing cluster's version is not known up front: the floor is the one every cluster Istio 1.30 supports allows.
            const existing = settings({ cluster: "existing", kubeContext: "team" });
            expect(preflightEnvironment(existing)).toEqual({ PREFLIGHT_KUBERNETES_VERSION: undefined });
            expect(checkTools(tools, REPO, { PATH: `${bin.dir}:${sys}`, PREFLIGHT_KUBERNETES_VERSION: undefined })).toMatchObject({ ok: true });
        });

        test("a tool that does not say its version is reported, not passed", () => {
            bin = createFakeBin({ minikube: `echo "something went wrong" >&2; exit 1` });
            const result = check(["minikube"]);
            expect(result.ok).toBe(false);
            expect(result.report).toContain("  - minikube: installed, but it did not say its version; 1.38.1 or newer is needed");
        });

        test("a missing tool with a floor names the version to install", () => {
            bin = createFakeBin();
            expect(check(["pulumi"]).report).toMatch(/^  - pulumi: not found; install the Pulumi CLI: \S+ \(version 3\.187\.0 or newer\)$/m);
        });
    });

    test("an unknown tool name is a failure", () => {
        bin = createFakeBin({ kubectl: KUBECTL_135, frobnicate: "" });
        const result = check(["kubectl", "frobnicate"]);
        expect(result.ok).toBe(false);
        expect(result.report).toContain("preflight does not know the tool 'frobnicate'");
    });

    test("an empty tool list is a failure, not a silent pass", () => {
        bin = createFakeBin();
        const result = check([]);
        expect(result.ok).toBe(false);
        expect(result.report).toContain("PREFLIGHT_TOOLS is not set");
    });
});

describe("./preflight, the script a newcomer runs", () => {
    const run = (args: string[] = []) =>
        spawnSync(path.join(REPO, "preflight"), args, { env: { PATH: `${bin.dir}:${sys}`, HOME: bin.workDir }, encoding: "utf8" });
    const EVERYTHING_BUT_CHECKSUM = {
        pulumi: `echo v3.248.0`,
        node: `echo v24.22.3`,
        npm: "",
        minikube: `echo v1.38.1`,
        kubectl: `echo "Client Version: v1.35.1"`,
        virsh: "",
        docker: `echo 27.3.1`,
        curl: "",
        tar: "",
        xz: "",
    };

    test("on macOS it asks for shasum, which macOS has, not sha256sum", () => {
        bin = createFakeBin({ ...EVERYTHING_BUT_CHECKSUM, uname: `echo Darwin`, shasum: "" });
        const result = run();
        expect(result.stdout).toContain("All prerequisites found:");
        expect(result.stdout).toMatch(/ shasum$/m);
        expect(result.status).toBe(0);
    });

    test("on Linux it asks for sha256sum, and says how to get it", () => {
        bin = createFakeBin({ ...EVERYTHING_BUT_CHECKSUM, uname: `echo Linux`, shasum: "" });
        const result = run(["kvm2"]);
        expect(result.status).toBe(1);
        expect(result.stdout).toBe("Missing prerequisites (nothing was created):\n  - sha256sum: not found; install sha256sum (GNU coreutils): 'sudo apt install coreutils'\n");
    });

    test("kubectl's minimum follows the dev stack's Kubernetes version (v1.35.1: kubectl 1.34)", () => {
        bin = createFakeBin({ ...EVERYTHING_BUT_CHECKSUM, uname: `echo Linux`, sha256sum: "", kubectl: `echo "Client Version: v1.33.0"` });
        const result = run();
        expect(result.status).toBe(1);
        expect(result.stdout).toContain("  - kubectl: version 1.33.0 is too old; 1.34.0 or newer is needed (kubectl supports API servers one minor version away, and this stack runs Kubernetes v1.35.1)");
    });

    test.each([
        ["v20.20.2", "past its end of life"],
        ["v25.9.0", "an odd line, never long-term supported"],
        ["v18.20.8", "older still"],
        ["v22.7.0", "a 22 without module.enableCompileCache"],
    ])("Node.js %s (%s) is named, with the lines that are supported", (version) => {
        bin = createFakeBin({ ...EVERYTHING_BUT_CHECKSUM, uname: `echo Linux`, sha256sum: "", node: `echo ${version}` });
        const result = run();
        expect(result.status).toBe(1);
        expect(result.stdout).toBe(
            `Missing prerequisites (nothing was created):\n  - node: version ${version.slice(1)} is not supported; install Node.js 22 (22.8 or newer), 24 or 26 (the lines not past their end of life): https://nodejs.org/\n`,
        );
    });

    test.each(["v22.8.0", "v22.23.5", "v24.22.3", "v26.12.1"])("Node.js %s is a supported line", (version) => {
        bin = createFakeBin({ ...EVERYTHING_BUT_CHECKSUM, uname: `echo Linux`, sha256sum: "", node: `echo ${version}` });
        const result = run();
        expect(result.stdout).toContain("All prerequisites found:");
        expect(result.status).toBe(0);
    });

    test("an old Pulumi CLI is named with the minimum", () => {
        bin = createFakeBin({ ...EVERYTHING_BUT_CHECKSUM, uname: `echo Linux`, sha256sum: "", pulumi: `echo v3.150.0` });
        const result = run();
        expect(result.status).toBe(1);
        expect(result.stdout).toContain("  - pulumi: version 3.150.0 is too old; 3.187.0 or newer is needed");
    });
});

// Preflight: which host tools a stack needs, and the real preflight.sh run against a PATH that holds
// exactly the tools a test chooses (fakes, plus bash and dirname, which the script itself runs on).
import * as fs from "fs";
import * as path from "path";
import { MINIKUBE_DRIVERS, StackSettings, parseSettings } from "../components/config";
import { DRIVER_TOOLS, checkTools, requiredTools } from "../components/preflight";
import { FakeBin, createFakeBin, systemBin } from "./helpers/fakeBin";

const REPO = path.resolve(__dirname, "..");
const ENV = { homeDir: "/home/tester", projectDir: REPO };
const BASE = ["kubectl", "curl", "tar", "sha256sum"];

function settings(values: Record<string, unknown>): StackSettings {
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) raw[`istio-minikube:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    return parseSettings(raw, "dev", ENV);
}

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
    let bin: FakeBin;
    let sys: string;
    beforeAll(() => {
        sys = systemBin(["bash", "dirname"]);
    });
    afterAll(() => fs.rmSync(sys, { recursive: true, force: true }));
    afterEach(() => bin?.cleanup());

    const check = (tools: string[]) => checkTools(tools, REPO, { PATH: `${bin.dir}:${sys}`, HOME: bin.workDir });
    const WORKING_DOCKER = `[ "$1" = version ] && echo 27.3.1; exit 0`;

    test("every missing tool is reported with its install hint, in one message", () => {
        bin = createFakeBin({ kubectl: "", curl: "" });
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
        bin = createFakeBin({ kubectl: "", curl: "", tar: "", sha256sum: "", minikube: "", virsh: "", docker: WORKING_DOCKER, xz: "" });
        const tools = requiredTools(settings({ minikube: { driver: "kvm2" } }));
        const result = check(tools);
        expect(result).toEqual({ ok: true, report: `All prerequisites found: ${tools.join(" ")}` });
        expect(bin.callsOf("docker")).toEqual([["version", "--format", "{{.Server.Version}}"]]);
        // Only docker is run; the others are only looked up.
        expect(bin.calls().map((c) => c.tool)).toEqual(["docker"]);
    });

    test("every tool any stack can need is known to preflight.sh", () => {
        const all = new Set<string>();
        for (const driver of MINIKUBE_DRIVERS) {
            for (const preload of [true, false]) requiredTools(settings({ minikube: { driver }, images: { preload } })).forEach((t) => all.add(t));
        }
        requiredTools(settings({ cluster: "existing", kubeContext: "c" })).forEach((t) => all.add(t));
        bin = createFakeBin(Object.fromEntries([...all].map((t) => [t, t === "docker" ? WORKING_DOCKER : ""])));
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
            kubectl: "",
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
        bin = createFakeBin({ kubectl: "" });
        const result = check(["kubectl", "minikube", "docker"]);
        expect(result.ok).toBe(false);
        expect(result.report.split("\n").slice(1)).toEqual([
            expect.stringMatching(/^  - minikube: not found; install minikube: /),
            expect.stringMatching(/^  - docker: not found; install Docker Engine/),
        ]);
    });

    test("an unknown tool name is a failure", () => {
        bin = createFakeBin({ kubectl: "", frobnicate: "" });
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

// The minikube scripts, run for real with bash against fake `minikube` and `kubectl`, with the environment
// minikubeEnvironment() gives them (what the Pulumi command passes). Plus shellcheck over every script.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MinikubeSettings } from "../components/config";
import { minikubeEnvironment } from "../components/cluster/minikubeCluster";
import { FakeBin, createFakeBin, runScript } from "./helpers/fakeBin";

const REPO = path.resolve(__dirname, "..");
const SCRIPTS = path.join(REPO, "components", "scripts");
const START = path.join(SCRIPTS, "minikube-start.sh");
const DELETE = path.join(SCRIPTS, "minikube-delete.sh");
const STATE = path.join(SCRIPTS, "minikube-state.sh");

const SETTINGS: MinikubeSettings = {
    profile: "istio-test",
    driver: "kvm2",
    cpus: 6,
    memory: 12288,
    kubernetesVersion: "v1.34.0",
    extraConfig: [
        "apiserver.enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount",
        "kubelet.max-pods=150",
    ],
};

/** A fake minikube whose `status` exits with `status`; `start`, `delete`, `update-context` exit with `others`. */
function minikubeWithStatus(status: number, others = 0): string {
    return `case "$1" in status) echo '{"Name":"x"}'; exit ${status} ;; *) echo "minikube $1 output"; exit ${others} ;; esac`;
}

let bin: FakeBin;
afterEach(() => bin?.cleanup());

function run(script: string, settings: MinikubeSettings = SETTINGS, extraEnv: Record<string, string | undefined> = {}) {
    return runScript(script, { fakeBin: bin, env: { ...minikubeEnvironment(settings), ...extraEnv } });
}

const statusCall = (profile = SETTINGS.profile) => ({ tool: "minikube", args: ["status", `--profile=${profile}`, "--output=json"] });

describe("minikube-start.sh", () => {
    const startArgs = [
        "start",
        "--profile=istio-test",
        "--driver=kvm2",
        "--cpus=6",
        "--memory=12288",
        "--kubernetes-version=v1.34.0",
        "--wait=all",
        "--interactive=false",
        "--extra-config=apiserver.enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount",
        "--extra-config=kubelet.max-pods=150",
    ];

    test("a fresh profile (status 85): probes, then starts with every setting and one --extra-config per option", () => {
        bin = createFakeBin({ minikube: minikubeWithStatus(85) });
        const result = run(START);
        expect(result.code).toBe(0);
        expect(result.calls).toEqual([statusCall(), { tool: "minikube", args: startArgs }]);
        // stdout is the command's result: minikube's chatter goes to stderr.
        expect(result.stdout).toBe("");
        expect(result.stderr).toContain("minikube start output");
        expect(result.stderr).toContain("Starting minikube profile 'istio-test'");
    });

    test("no extra config: no --extra-config argument at all", () => {
        bin = createFakeBin({ minikube: minikubeWithStatus(85) });
        const result = run(START, { ...SETTINGS, extraConfig: [] });
        expect(result.code).toBe(0);
        expect(result.calls[1]).toEqual({ tool: "minikube", args: startArgs.filter((a) => !a.startsWith("--extra-config")) });
    });

    test("extra config keeps its order and the commas inside each value", () => {
        bin = createFakeBin({ minikube: minikubeWithStatus(85) });
        const extraConfig = ["kubelet.b=2", "apiserver.a=x,y,z", "kube-proxy.mode=ipvs", "etcd.c=1=2"];
        const result = run(START, { ...SETTINGS, extraConfig });
        expect(result.calls[1].args.filter((a) => a.startsWith("--extra-config"))).toEqual(extraConfig.map((o) => `--extra-config=${o}`));
    });

    test("a stopped profile (status 7) is started", () => {
        bin = createFakeBin({ minikube: minikubeWithStatus(7) });
        const result = run(START);
        expect(result.code).toBe(0);
        expect(result.calls).toEqual([statusCall(), { tool: "minikube", args: startArgs }]);
    });

    test("a second start when the profile is running is a no-op", () => {
        bin = createFakeBin({
            minikube: `case "$1" in
                status) [ -e "$FAKE_STATE/running" ] && exit 0; exit 85 ;;
                start) : >"$FAKE_STATE/running" ;;
                *) exit 99 ;;
            esac`,
        });
        const first = run(START);
        expect(first.code).toBe(0);
        expect(first.calls.map((c) => c.args[0])).toEqual(["status", "start"]);
        const second = run(START);
        expect(second.code).toBe(0);
        expect(second.calls).toEqual([statusCall()]);
        expect(second.stderr).toContain("already running; nothing to do");
    });

    test("running with a stale kubeconfig (status 4): update-context only", () => {
        bin = createFakeBin({ minikube: minikubeWithStatus(4) });
        const result = run(START);
        expect(result.code).toBe(0);
        expect(result.calls).toEqual([statusCall(), { tool: "minikube", args: ["update-context", "--profile=istio-test"] }]);
        expect(result.stdout).toBe("");
    });

    test("a failing update-context fails the script", () => {
        bin = createFakeBin({ minikube: minikubeWithStatus(4, 1) });
        expect(run(START).code).not.toBe(0);
    });

    test("a failing minikube start fails the script", () => {
        bin = createFakeBin({ minikube: `case "$1" in status) exit 85 ;; start) echo "X Exiting due to PROVIDER_KVM2_NOT_FOUND" >&2; exit 80 ;; esac` });
        const result = run(START);
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain("PROVIDER_KVM2_NOT_FOUND");
        expect(result.calls.map((c) => c.args[0])).toEqual(["status", "start"]);
    });

    test.each(["MINIKUBE_PROFILE", "MINIKUBE_DRIVER", "MINIKUBE_CPUS", "MINIKUBE_MEMORY_MB", "MINIKUBE_KUBERNETES_VERSION"])(
        "without %s: fails, names the variable, runs nothing",
        (name) => {
            bin = createFakeBin({ minikube: minikubeWithStatus(85) });
            for (const value of [undefined, ""]) {
                const result = run(START, SETTINGS, { [name]: value });
                expect(result.code).not.toBe(0);
                expect(result.stderr).toContain(`${name} is not set`);
                expect(result.calls).toEqual([]);
            }
        },
    );

    test("MINIKUBE_EXTRA_CONFIG may be absent", () => {
        bin = createFakeBin({ minikube: minikubeWithStatus(85) });
        const result = run(START, SETTINGS, { MINIKUBE_EXTRA_CONFIG: undefined });
        expect(result.code).toBe(0);
        expect(result.calls[1].args.some((a) => a.startsWith("--extra-config"))).toBe(false);
    });
});

describe("minikube-delete.sh", () => {
    test("deletes an existing profile", () => {
        bin = createFakeBin({ minikube: minikubeWithStatus(0) });
        const result = run(DELETE);
        expect(result.code).toBe(0);
        expect(result.calls).toEqual([statusCall(), { tool: "minikube", args: ["delete", "--profile=istio-test"] }]);
        expect(result.stdout).toBe("");
    });

    test("deletes a stopped profile", () => {
        bin = createFakeBin({ minikube: minikubeWithStatus(7) });
        const result = run(DELETE);
        expect(result.code).toBe(0);
        expect(result.calls[1]).toEqual({ tool: "minikube", args: ["delete", "--profile=istio-test"] });
    });

    test("a profile that does not exist (status 85): succeeds without calling delete", () => {
        bin = createFakeBin({ minikube: minikubeWithStatus(85) });
        const result = run(DELETE);
        expect(result.code).toBe(0);
        expect(result.calls).toEqual([statusCall()]);
        expect(result.stderr).toContain("does not exist; nothing to delete");
    });

    test("a failing delete fails the script", () => {
        bin = createFakeBin({ minikube: minikubeWithStatus(0, 1) });
        expect(run(DELETE).code).not.toBe(0);
    });

    test("without MINIKUBE_PROFILE: fails, names the variable, runs nothing", () => {
        bin = createFakeBin({ minikube: minikubeWithStatus(0) });
        const result = runScript(DELETE, { fakeBin: bin });
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain("MINIKUBE_PROFILE is not set");
        expect(result.calls).toEqual([]);
    });
});

describe("hostile values reach the tools as literal arguments", () => {
    let marker: string;
    beforeEach(() => {
        marker = fs.mkdtempSync(path.join(os.tmpdir(), "pwned-"));
    });
    afterEach(() => fs.rmSync(marker, { recursive: true, force: true }));

    const hostile = (dir: string) => [
        `x; touch ${dir}/semicolon`,
        `$(touch ${dir}/subst)`,
        `\`touch ${dir}/backtick\``,
        `x && touch ${dir}/and`,
        `x | touch ${dir}/pipe`,
        `x' ; touch ${dir}/quote ; '`,
        `-x --delete-all`,
    ];

    test("profile: one argument each, in every script, and nothing runs", () => {
        bin = createFakeBin({ minikube: minikubeWithStatus(85), kubectl: "exit 0" });
        for (const profile of hostile(marker)) {
            const settings = { ...SETTINGS, profile };
            const start = run(START, settings);
            expect(start.code).toBe(0);
            expect(start.calls[0]).toEqual(statusCall(profile));
            expect(start.calls[1].args[1]).toBe(`--profile=${profile}`);
            expect(start.calls[1].args).toHaveLength(10);

            const del = run(DELETE, settings);
            expect(del.calls).toEqual([statusCall(profile)]);

            const state = run(STATE, settings);
            expect(state.calls).toEqual([statusCall(profile)]);
            expect(state.stdout).toBe("missing\n");
        }
        expect(fs.readdirSync(marker)).toEqual([]);
    });

    test("every other setting and extra-config option: one argument each, nothing runs", () => {
        bin = createFakeBin({ minikube: minikubeWithStatus(85) });
        const [a, b, c, d, e] = hostile(marker);
        const env = {
            ...minikubeEnvironment(SETTINGS),
            MINIKUBE_DRIVER: a,
            MINIKUBE_CPUS: b,
            MINIKUBE_MEMORY_MB: c,
            MINIKUBE_KUBERNETES_VERSION: d,
            MINIKUBE_EXTRA_CONFIG: `apiserver.x=${e}\napiserver.y=$(touch ${marker}/extra)`,
        };
        const result = runScript(START, { fakeBin: bin, env });
        expect(result.code).toBe(0);
        expect(result.calls[1].args).toEqual([
            "start",
            "--profile=istio-test",
            `--driver=${a}`,
            `--cpus=${b}`,
            `--memory=${c}`,
            `--kubernetes-version=${d}`,
            "--wait=all",
            "--interactive=false",
            `--extra-config=apiserver.x=${e}`,
            `--extra-config=apiserver.y=$(touch ${marker}/extra)`,
        ]);
        expect(fs.readdirSync(marker)).toEqual([]);
    });
});

describe("shellcheck", () => {
    const SHELLCHECK = "/usr/bin/shellcheck";
    const scripts = (function find(dir: string): string[] {
        return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) return find(full);
            return entry.name.endsWith(".sh") ? [path.relative(REPO, full)] : [];
        });
    })(SCRIPTS).sort();

    test("finds the scripts", () => {
        for (const name of ["lib.sh", "minikube-start.sh", "minikube-delete.sh", "minikube-state.sh", "preflight.sh"]) {
            expect(scripts).toContain(path.join("components", "scripts", name));
        }
    });

    test("reports nothing for any script (repo .shellcheckrc, -x, from the repo root)", () => {
        const result = spawnSync(SHELLCHECK, ["-x", ...scripts], { cwd: REPO, encoding: "utf8" });
        expect(result.error).toBeUndefined();
        expect(`${result.stdout}${result.stderr}`).toBe("");
        expect(result.status).toBe(0);
    });

    test("would catch a problem (the check is live)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shellcheck-"));
        try {
            const bad = path.join(dir, "bad.sh");
            fs.writeFileSync(bad, "#!/usr/bin/env bash\nrm -rf $1/\n");
            const result = spawnSync(SHELLCHECK, ["-x", bad], { cwd: REPO, encoding: "utf8" });
            expect(result.status).not.toBe(0);
            expect(result.stdout).toContain("SC2086");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

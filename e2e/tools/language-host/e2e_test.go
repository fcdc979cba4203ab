// Tests of our stand-in nodejs language host (see main.go), written because the Go module proxy does not
// serve Pulumi's own pulumi-language-nodejs: the real Pulumi CLI running a TypeScript program with it.
//
// Runs only with PULUMI_CLI (the pulumi binary, v3.276.0) and NODE_MODULES (a node_modules folder with
// @pulumi/pulumi, typescript and @types/node, e.g. the project's own), for example:
//
//	PULUMI_CLI=/tmp/imk-shared/bin/pulumi NODE_MODULES=$PWD/../../../node_modules go test -run E2E -v ./...
package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const e2eProgram = `import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const greeting = config.require("greeting");
const token = config.requireSecret("token");
const markerFile = config.require("markerFile");
const other = new pulumi.Config("other").require("value");
if (config.getBoolean("fail")) {
    throw new Error("deliberate failure from the program");
}

// Printed by node, carried through the language host's stdout into the engine's output.
console.log("program saw greeting=" + greeting + " other=" + other + " dryRun=" + pulumi.runtime.isDryRun());

interface GreetingInputs {
    greeting: string;
    markerFile: string;
}

// The dynamic provider: serialized with the program, run by pulumi-resource-pulumi-nodejs.
const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: GreetingInputs): Promise<pulumi.dynamic.CreateResult> {
        const message = inputs.greeting + ", world";
        fs.writeFileSync(inputs.markerFile, message);
        return { id: "greeting-" + inputs.greeting.length, outs: { ...inputs, message } };
    },
    async delete(id: string, props: GreetingInputs): Promise<void> {
        fs.rmSync(props.markerFile, { force: true });
    },
};

class Greeting extends pulumi.dynamic.Resource {
    // "declare": an ES2022 class field would reset the output the constructor sets.
    declare public readonly message: pulumi.Output<string>;
    constructor(name: string, args: GreetingInputs, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { message: undefined, ...args }, opts);
    }
}

const hello = new Greeting("hello", { greeting, markerFile });

export const message = hello.message;
export const resourceId = hello.id;
export const sawGreeting = greeting;
export const sawOther = other;
export const secretToken = token;
export const tokenLength = token.apply((t) => t.length);
export const project = pulumi.getProject();
export const stack = pulumi.getStack();
`

func TestE2EPulumiCLI(t *testing.T) {
	cli, nodeModules := os.Getenv("PULUMI_CLI"), os.Getenv("NODE_MODULES")
	if cli == "" || nodeModules == "" {
		t.Skip("set PULUMI_CLI (the pulumi v3.276.0 binary) and NODE_MODULES (a node_modules folder with " +
			"@pulumi/pulumi) to run the CLI end to end")
	}
	for _, p := range []string{cli, filepath.Join(nodeModules, "@pulumi/pulumi/package.json")} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%v", err)
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not on PATH: %v", err)
	}
	cli, _ = filepath.Abs(cli)
	nodeModules, _ = filepath.Abs(nodeModules)

	// The tools folder: our language host and our dynamic provider launcher, first on PATH.
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	must(t, os.MkdirAll(bin, 0o755))
	must(t, os.Symlink(hostBinary(t), filepath.Join(bin, "pulumi-language-nodejs")))
	launcher, _ := filepath.Abs("../dynamic-provider/pulumi-resource-pulumi-nodejs")
	must(t, os.Symlink(launcher, filepath.Join(bin, "pulumi-resource-pulumi-nodejs")))

	proj := filepath.Join(tmp, "project")
	for name, content := range map[string]string{
		"Pulumi.yaml": "name: lhe2e\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n",
		"package.json": `{"name": "lhe2e", "version": "0.0.0", "private": true, "main": "index.ts",` +
			` "dependencies": {"@pulumi/pulumi": "3.276.0"}}` + "\n",
		"tsconfig.json": `{"compilerOptions": {"strict": true, "target": "ES2022", "module": "nodenext",` +
			` "moduleResolution": "nodenext", "types": ["node"], "skipLibCheck": true}, "files": ["index.ts"]}` + "\n",
		"index.ts": e2eProgram,
	} {
		writeFile(t, filepath.Join(proj, name), content)
	}
	must(t, os.Symlink(nodeModules, filepath.Join(proj, "node_modules")))
	marker := filepath.Join(tmp, "marker.txt")
	rpcLog := filepath.Join(tmp, "rpc.log")

	env := append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+filepath.Dir(cli)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PULUMI_HOME="+filepath.Join(tmp, "home"),
		"PULUMI_BACKEND_URL=file://"+filepath.Join(tmp, "state"),
		"PULUMI_CONFIG_PASSPHRASE=test",
		"PULUMI_SKIP_UPDATE_CHECK=1",
		// No internet here: never try to download the plugins node_modules declares (kubernetes, command).
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
		rpcLogEnv+"="+rpcLog,
	)
	must(t, os.MkdirAll(filepath.Join(tmp, "state"), 0o755))

	// Which RPCs each command made of the language host, from the host's record (LANGUAGE_HOST_RPC_LOG).
	seen := 0
	var order []string
	rpcsBy := map[string][]string{}
	recordRPCs := func(label string) {
		b, err := os.ReadFile(rpcLog)
		if err != nil {
			return
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		for _, l := range lines[min(seen, len(lines)):] {
			if f := strings.Fields(l); len(f) >= 4 {
				if _, ok := rpcsBy[label]; !ok {
					order = append(order, label)
				}
				rpcsBy[label] = append(rpcsBy[label],
					strings.TrimPrefix(f[2], "/pulumirpc.LanguageRuntime/")+" "+strings.Join(f[3:], " "))
			}
		}
		seen = len(lines)
	}
	run := func(wantErr bool, args ...string) string {
		t.Helper()
		cmd := exec.Command(cli, append(args, "--non-interactive", "--color", "never")...)
		cmd.Dir, cmd.Env = proj, env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		t.Logf("pulumi %s (%.1f s):\n%s", strings.Join(args, " "), time.Since(start).Seconds(), out)
		if (err != nil) != wantErr {
			t.Fatalf("pulumi %s: error %v, want an error: %v", strings.Join(args, " "), err, wantErr)
		}
		label := "pulumi " + args[0]
		for _, a := range args[1:] {
			if strings.HasPrefix(a, "--") || args[0] == "stack" {
				label += " " + a
			}
		}
		recordRPCs(label)
		return string(out)
	}
	pulumi := func(args ...string) string { t.Helper(); return run(false, args...) }

	pulumi("stack", "init", "dev")
	pulumi("config", "set", "greeting", "hello")
	pulumi("config", "set", "--secret", "token", "s3cr3t-value")
	pulumi("config", "set", "markerFile", marker)
	pulumi("config", "set", "other:value", "from-another-namespace")

	// pulumi about asks the host for node's version and the program's dependencies.
	nodeVersion, err := exec.Command("node", "--version").Output()
	must(t, err)
	out := pulumi("about")
	expect(t, out, strings.TrimSpace(string(nodeVersion)))

	out = pulumi("preview")
	expect(t, out, "program saw greeting=hello other=from-another-namespace dryRun=true")
	expect(t, out, "+ 2 to create") // the stack and the dynamic resource
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the preview ran the dynamic provider's create")
	}

	out = pulumi("up", "--yes")
	expect(t, out, "program saw greeting=hello other=from-another-namespace dryRun=false")
	expect(t, out, "2 created")
	if b, err := os.ReadFile(marker); err != nil || string(b) != "hello, world" {
		t.Fatalf("dynamic provider's create: marker %q %v", b, err)
	}

	outputs := map[string]any{}
	must(t, json.Unmarshal([]byte(pulumi("stack", "output", "--json")), &outputs))
	want := map[string]any{
		"message": "hello, world", "resourceId": "greeting-5", "sawGreeting": "hello",
		"sawOther": "from-another-namespace", "secretToken": "[secret]", "tokenLength": "[secret]",
		"project": "lhe2e", "stack": "dev",
	}
	for k, v := range want {
		if outputs[k] != v {
			t.Errorf("output %s = %#v, want %#v", k, outputs[k], v)
		}
	}
	if len(outputs) != len(want) {
		t.Errorf("outputs %v", outputs)
	}
	must(t, json.Unmarshal([]byte(pulumi("stack", "output", "--json", "--show-secrets")), &outputs))
	if outputs["secretToken"] != "s3cr3t-value" || outputs["tokenLength"] != float64(len("s3cr3t-value")) {
		t.Errorf("secret outputs %#v %#v", outputs["secretToken"], outputs["tokenLength"])
	}

	pulumi("preview", "--expect-no-changes")
	pulumi("refresh", "--yes")

	out = pulumi("destroy", "--yes")
	expect(t, out, "2 deleted")
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("dynamic provider's delete left the marker: %v", err)
	}
	outputs = map[string]any{}
	must(t, json.Unmarshal([]byte(pulumi("stack", "output", "--json")), &outputs))
	if len(outputs) != 0 {
		t.Errorf("outputs after destroy: %v", outputs)
	}

	// A program that throws: cmd/run reports the error itself and exits 32, so the host answers "bail"
	// and the engine adds no "non-zero exit code" message of its own.
	pulumi("config", "set", "fail", "true")
	out = run(true, "preview")
	expect(t, out, "deliberate failure from the program")
	if strings.Contains(out, "non-zero exit code") {
		t.Errorf("a bail was reported as an exit code")
	}
	pulumi("config", "rm", "fail")

	// The Automation API (LocalWorkspace) on the same project, as a Node.js script would use it.
	writeFile(t, filepath.Join(proj, "auto.js"), automationScript)
	cmd := exec.Command("node", "auto.js", marker)
	cmd.Dir, cmd.Env = proj, env
	start := time.Now()
	var autoOut []byte
	autoOut, err = cmd.CombinedOutput()
	t.Logf("node auto.js (%.1f s):\n%s", time.Since(start).Seconds(), autoOut)
	if err != nil {
		t.Fatalf("automation API: %v", err)
	}
	recordRPCs("automation API (LocalWorkspace: up, preview, refresh, destroy)")
	expect(t, string(autoOut), `automation outputs: {"message":"hi, world","sawGreeting":"hi","secretToken":"tok","secretIsSecret":true}`)
	expect(t, string(autoOut), "automation preview changes: {\"same\":2}")
	expect(t, string(autoOut), "automation destroy: {\"delete\":2}")

	for _, c := range order {
		t.Logf("language host RPCs during %s: %s", c, strings.Join(rpcsBy[c], ", "))
	}
	for _, c := range []string{"pulumi preview", "pulumi up --yes", "automation API (LocalWorkspace: up, preview, refresh, destroy)"} {
		if !strings.Contains(strings.Join(rpcsBy[c], ","), "Run ok") {
			t.Errorf("no Run during %s: %v", c, rpcsBy[c])
		}
	}
}

// automationScript drives stack "auto" of the project through @pulumi/pulumi/automation's LocalWorkspace,
// which runs the pulumi CLI on PATH (and so this language host) for each operation.
const automationScript = `const { LocalWorkspace } = require("@pulumi/pulumi/automation");
const marker = process.argv[2];
(async () => {
    const stack = await LocalWorkspace.createOrSelectStack({ stackName: "auto", workDir: __dirname });
    await stack.setAllConfig({
        greeting: { value: "hi" },
        token: { value: "tok", secret: true },
        markerFile: { value: marker },
        "other:value": { value: "x" },
    });
    const up = await stack.up();
    console.log("automation outputs: " + JSON.stringify({
        message: up.outputs.message.value,
        sawGreeting: up.outputs.sawGreeting.value,
        secretToken: up.outputs.secretToken.value,
        secretIsSecret: up.outputs.secretToken.secret,
    }));
    const preview = await stack.preview({ expectNoChanges: true });
    console.log("automation preview changes: " + JSON.stringify(preview.changeSummary));
    await stack.refresh();
    const destroy = await stack.destroy();
    console.log("automation destroy: " + JSON.stringify(destroy.summary.resourceChanges));
    await stack.workspace.removeStack("auto");
})().catch((err) => { console.error(err); process.exit(1); });
`

func expect(t *testing.T, out, want string) {
	t.Helper()
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q", want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Tests of our stand-in nodejs language host (see main.go), written because the Go module proxy does not
// serve Pulumi's own pulumi-language-nodejs: the node command line and environment Run builds.
package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func runRequest(t *testing.T, options map[string]any) *pulumirpc.RunRequest {
	t.Helper()
	opts, err := structpb.NewStruct(options)
	if err != nil {
		t.Fatal(err)
	}
	return &pulumirpc.RunRequest{
		MonitorAddress: "127.0.0.1:1111", // the engine's; node gets the proxy's
		Project:        "istio-minikube",
		Stack:          "dev",
		Organization:   "organization",
		Pwd:            "/proj",
		Program:        ".",
		Args:           []string{"a1", "a 2"},
		Config: map[string]string{
			"istio-minikube:cluster": "existing",
			"kubernetes:context":     "kind",
			"istio-minikube:token":   "s3cret",
		},
		ConfigSecretKeys: []string{"istio-minikube:token"},
		DryRun:           true,
		Parallel:         16,
		Info: &pulumirpc.ProgramInfo{
			RootDirectory: "/proj", ProgramDirectory: "/proj/src", EntryPoint: ".", Options: opts,
		},
	}
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v // the last one wins, as for exec
	}
	return m
}

func TestNodeCommandLine(t *testing.T) {
	req := runRequest(t, map[string]any{"typescript": true})
	args, env, err := nodeCommand(req, runParams{
		runPath:       "/proj/node_modules/@pulumi/pulumi/cmd/run/index.js",
		monitor:       "127.0.0.1:2222",
		engine:        "127.0.0.1:3333",
		syncDir:       "/tmp/pulumi-node-pipes1",
		baseEnv:       []string{"PATH=/bin", "HOME=/root"},
		runtimeOption: req.Info.Options.AsMap(),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/proj/node_modules/@pulumi/pulumi/cmd/run/index.js",
		"--monitor", "127.0.0.1:2222",
		"--engine", "127.0.0.1:3333",
		"--sync", "/tmp/pulumi-node-pipes1",
		"--organization", "organization",
		"--project", "istio-minikube",
		"--root-directory", "/proj",
		"--stack", "dev",
		"--pwd", "/proj/src",
		"--dry-run",
		"--parallel", "16",
		".",
		"a1", "a 2",
	}
	if !reflect.DeepEqual(args, want) {
		t.Fatalf("args\n got %q\nwant %q", args, want)
	}

	m := envMap(env)
	if m["PATH"] != "/bin" || m["HOME"] != "/root" {
		t.Errorf("base environment lost: %v", env)
	}
	var cfg map[string]string
	if err := json.Unmarshal([]byte(m["PULUMI_CONFIG"]), &cfg); err != nil {
		t.Fatal(err)
	}
	wantCfg := map[string]string{
		"istio-minikube:config:cluster": "existing",
		"kubernetes:config:context":     "kind",
		"istio-minikube:config:token":   "s3cret",
	}
	if !reflect.DeepEqual(cfg, wantCfg) {
		t.Errorf("PULUMI_CONFIG %v, want %v", cfg, wantCfg)
	}
	if m["PULUMI_CONFIG_SECRET_KEYS"] != `["istio-minikube:token"]` {
		t.Errorf("PULUMI_CONFIG_SECRET_KEYS %q", m["PULUMI_CONFIG_SECRET_KEYS"])
	}
	if m["PULUMI_NODEJS_TYPESCRIPT"] != "true" {
		t.Errorf("PULUMI_NODEJS_TYPESCRIPT %q", m["PULUMI_NODEJS_TYPESCRIPT"])
	}
	if _, ok := m["PULUMI_NODEJS_TSCONFIG_PATH"]; ok {
		t.Errorf("PULUMI_NODEJS_TSCONFIG_PATH set without a tsconfig option")
	}
}

func TestNodeCommandOptions(t *testing.T) {
	// No dry run, no organization, parallel 0, tracing, tsconfig, nodeargs, typescript off, no config.
	req := runRequest(t, map[string]any{
		"typescript": false, "tsconfig": "tsconfig.pulumi.json", "nodeargs": `--max-old-space-size=4096 --title "a b"`,
	})
	req.DryRun, req.Organization, req.Parallel, req.Args = false, "", 0, nil
	req.Config, req.ConfigSecretKeys = nil, nil
	req.Info.EntryPoint = "bin/index.js"
	args, env, err := nodeCommand(req, runParams{
		runPath: "/run", monitor: "m:1", engine: "e:2", syncDir: "/s", tracing: "http://zipkin:9411",
		otelEndpoint: "127.0.0.1:4317", runtimeOption: req.Info.Options.AsMap(),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"--max-old-space-size=4096", "--title", "a b", "/run",
		"--monitor", "m:1", "--engine", "e:2", "--sync", "/s",
		"--project", "istio-minikube", "--root-directory", "/proj", "--stack", "dev", "--pwd", "/proj/src",
		"--parallel", "0", "--tracing", "http://zipkin:9411", "bin/index.js",
	}
	if !reflect.DeepEqual(args, want) {
		t.Fatalf("args\n got %q\nwant %q", args, want)
	}
	m := envMap(env)
	if m["PULUMI_CONFIG"] != "{}" || m["PULUMI_CONFIG_SECRET_KEYS"] != "[]" {
		t.Errorf("empty config: %q %q", m["PULUMI_CONFIG"], m["PULUMI_CONFIG_SECRET_KEYS"])
	}
	if _, ok := m["PULUMI_NODEJS_TYPESCRIPT"]; ok {
		t.Errorf("PULUMI_NODEJS_TYPESCRIPT set with typescript: false")
	}
	if m["PULUMI_NODEJS_TSCONFIG_PATH"] != "tsconfig.pulumi.json" {
		t.Errorf("PULUMI_NODEJS_TSCONFIG_PATH %q", m["PULUMI_NODEJS_TSCONFIG_PATH"])
	}
	if m["PULUMI_OTEL_EXPORTER_OTLP_ENDPOINT"] != "127.0.0.1:4317" {
		t.Errorf("PULUMI_OTEL_EXPORTER_OTLP_ENDPOINT %q", m["PULUMI_OTEL_EXPORTER_OTLP_ENDPOINT"])
	}
}

func TestNodeOptionsDefaultsAndErrors(t *testing.T) {
	opts, err := parseNodeOptions(map[string]any{})
	if err != nil || !opts.typescript || opts.packageManager != "auto" {
		t.Fatalf("defaults: %+v %v", opts, err)
	}
	for _, bad := range []map[string]any{
		{"typescript": "yes"}, {"tsconfig": 1.0}, {"nodeargs": true}, {"packagemanager": "cargo"},
	} {
		if _, err := parseNodeOptions(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	req := runRequest(t, map[string]any{"nodeargs": `"unterminated`})
	if _, _, err := nodeCommand(req, runParams{runtimeOption: req.Info.Options.AsMap()}); err == nil {
		t.Errorf("unterminated nodeargs: no error")
	}
}

func TestConfigJSONRejectsBadKeys(t *testing.T) {
	if _, err := configJSON(map[string]string{"no-namespace": "x"}); err == nil {
		t.Fatal("a key without a namespace was accepted")
	}
}

// Run tells the engine plainly when node is missing, and when the program has no @pulumi/pulumi.
func TestRunWithoutNode(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	host := newLanguageHost("127.0.0.1:1", "", "")
	resp, err := host.Run(context.Background(), runRequest(t, map[string]any{}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Error, "could not find node on the $PATH") {
		t.Fatalf("error %q", resp.Error)
	}
}

func TestRunWithoutPulumiSDK(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not on PATH")
	}
	dir, tmp := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", tmp)
	req := runRequest(t, map[string]any{})
	req.Info.RootDirectory, req.Info.ProgramDirectory = dir, dir
	host := newLanguageHost("127.0.0.1:1", "", "")
	resp, err := host.Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.Error, "It looks like the Pulumi SDK has not been installed") ||
		!strings.Contains(resp.Error, "@pulumi/pulumi/cmd/run") {
		t.Fatalf("error %q", resp.Error)
	}
	// The synchronous-invoke pipes were removed again.
	if entries, _ := os.ReadDir(tmp); len(entries) > 0 {
		t.Fatalf("left behind in TMPDIR: %v", entries)
	}
}

func TestRunNeedsEngine(t *testing.T) {
	host := newLanguageHost("", "", "")
	if _, err := host.Run(context.Background(), runRequest(t, map[string]any{})); err == nil {
		t.Fatal("Run without an engine address succeeded")
	}
}

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

const testURN = "urn:pulumi:dev::proj::command:local:Command::my-cmd"

// fakeEngine is a pulumirpc.Engine that records the Log calls a provider makes.
type fakeEngine struct {
	pulumirpc.UnimplementedEngineServer
	mu   sync.Mutex
	logs []*pulumirpc.LogRequest
}

func (e *fakeEngine) Log(_ context.Context, req *pulumirpc.LogRequest) (*emptypb.Empty, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.logs = append(e.logs, req)
	return &emptypb.Empty{}, nil
}

func (e *fakeEngine) messages() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, l := range e.logs {
		out = append(out, l.GetMessage())
	}
	return out
}

// startEngine serves a fakeEngine on loopback and returns it with its address.
func startEngine(t *testing.T) (*fakeEngine, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	engine := &fakeEngine{}
	pulumirpc.RegisterEngineServer(srv, engine)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return engine, lis.Addr().String()
}

// newTestProvider is a configured provider (the engine sends old inputs, as 3.248 and 3.276 do) whose log
// lines go to a fake engine.
func newTestProvider(t *testing.T) (*commandProvider, *fakeEngine) {
	t.Helper()
	engine, addr := startEngine(t)
	host, err := newHostClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Close() })
	p := newProvider()
	p.setHost(host)
	resp, err := p.Configure(context.Background(), &pulumirpc.ConfigureRequest{
		SendsOldInputs: true, SendsOldInputsToDelete: true, AcceptSecrets: true, AcceptResources: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetAcceptSecrets() || !resp.GetSupportsPreview() || !resp.GetAcceptResources() || !resp.GetAcceptOutputs() {
		t.Fatalf("Configure answered %v; want secrets, preview, resources and outputs accepted as v1.2.1", resp)
	}
	return p, engine
}

// wire marshals properties as the engine sends them (plugin.provider: unknowns kept, secrets kept).
func wire(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(m, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unwire unmarshals a provider answer as the engine does.
func unwire(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := plugin.UnmarshalProperties(s, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func str(s string) resource.PropertyValue { return resource.NewStringProperty(s) }

func strs(ss ...string) resource.PropertyValue {
	var arr []resource.PropertyValue
	for _, s := range ss {
		arr = append(arr, str(s))
	}
	return resource.NewArrayProperty(arr)
}

func env(kv ...string) resource.PropertyValue {
	m := resource.PropertyMap{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[resource.PropertyKey(kv[i])] = str(kv[i+1])
	}
	return resource.NewObjectProperty(m)
}

func unknown() resource.PropertyValue { return resource.MakeComputed(str("")) }

func create(t *testing.T, p *commandProvider, inputs resource.PropertyMap, preview bool) (string, resource.PropertyMap) {
	t.Helper()
	resp, err := p.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: testURN, Properties: wire(t, inputs), Preview: preview,
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return resp.GetId(), unwire(t, resp.GetProperties())
}

func update(t *testing.T, p *commandProvider, olds, oldInputs, news resource.PropertyMap, preview bool,
) (resource.PropertyMap, error) {
	t.Helper()
	resp, err := p.Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: testURN, Id: "my-cmd0123abcd", Olds: wire(t, olds), News: wire(t, news),
		OldInputs: wire(t, oldInputs), Preview: preview,
	})
	if err != nil {
		return nil, err
	}
	return unwire(t, resp.GetProperties()), nil
}

func stringOut(t *testing.T, m resource.PropertyMap, k string) string {
	t.Helper()
	v, ok := m[resource.PropertyKey(k)]
	if !ok || !v.IsString() {
		t.Fatalf("output %q = %v; want a known, plain string", k, v)
	}
	return v.StringValue()
}

func TestCheckReturnsTheInputsAsGiven(t *testing.T) {
	p, _ := newTestProvider(t)
	news := resource.PropertyMap{
		"create":      str("echo hi"),
		"delete":      resource.MakeSecret(str("echo bye")),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"A": str("1"), "B": unknown()}),
		"triggers":    resource.NewArrayProperty([]resource.PropertyValue{str("x"), resource.NewNumberProperty(2)}),
		"logging":     str("stderr"),
	}
	resp, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: testURN, News: wire(t, news)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetFailures()) != 0 {
		t.Fatalf("failures %v", resp.GetFailures())
	}
	got := unwire(t, resp.GetInputs())
	if !got.DeepEquals(news) {
		t.Fatalf("Check changed the inputs:\n got %v\nwant %v", got, news)
	}
	if !got["delete"].IsSecret() || !got["environment"].ObjectValue()["B"].IsComputed() {
		t.Fatalf("secret or unknown lost: %v", got)
	}
}

func TestCheckFailures(t *testing.T) {
	p, _ := newTestProvider(t)
	news := resource.PropertyMap{
		"create":     resource.NewNumberProperty(1),
		"bogus":      str("x"),
		"assetPaths": strs("*.txt"),
	}
	resp, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: testURN, News: wire(t, news)})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, f := range resp.GetFailures() {
		reasons[f.GetProperty()] = f.GetReason()
	}
	if !strings.Contains(reasons["create"], "must be a 'string'; got 'float64'") {
		t.Errorf("create: %q", reasons["create"])
	}
	if !strings.Contains(reasons["bogus"], "Unrecognized field 'bogus'") {
		t.Errorf("bogus: %q", reasons["bogus"])
	}
	if !strings.Contains(reasons["assetPaths"], "not supported") {
		t.Errorf("assetPaths: %q", reasons["assetPaths"])
	}
}

func TestUnknownTypeIsNotFound(t *testing.T) {
	p, _ := newTestProvider(t)
	_, err := p.Check(context.Background(), &pulumirpc.CheckRequest{
		Urn: "urn:pulumi:dev::proj::command:remote:Command::x", News: wire(t, resource.PropertyMap{}),
	})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("err = %v; want NotFound", err)
	}
}

func diff(t *testing.T, p *commandProvider, oldInputs, olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	t.Helper()
	resp, err := p.Diff(context.Background(), &pulumirpc.DiffRequest{
		Urn: testURN, Id: "my-cmd0123abcd", OldInputs: wire(t, oldInputs), Olds: wire(t, olds), News: wire(t, news),
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func detailed(resp *pulumirpc.DiffResponse) map[string]pulumirpc.PropertyDiff_Kind {
	out := map[string]pulumirpc.PropertyDiff_Kind{}
	for k, v := range resp.GetDetailedDiff() {
		out[k] = v.GetKind()
	}
	return out
}

func withOutputs(inputs resource.PropertyMap, stdout string) resource.PropertyMap {
	m := inputs.Copy()
	m["stdout"] = str(stdout)
	m["stderr"] = str("")
	return m
}

func TestDiff(t *testing.T) {
	p, _ := newTestProvider(t)
	old := resource.PropertyMap{
		"create":      str("echo a"),
		"environment": env("A", "1"),
		"triggers":    strs("t1", "t2"),
	}
	state := withOutputs(old, "a")

	t.Run("no change", func(t *testing.T) {
		resp := diff(t, p, old, state, old.Copy())
		if resp.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE || len(resp.GetDetailedDiff()) != 0 || len(resp.GetReplaces()) != 0 {
			t.Fatalf("got %v", resp)
		}
		if !resp.GetHasDetailedDiff() {
			t.Fatal("the infer layer always answers with a detailed diff")
		}
	})

	t.Run("other input changes are updates", func(t *testing.T) {
		news := old.Copy()
		news["create"] = str("echo b")
		news["environment"] = env("A", "2")
		news["dir"] = str("/tmp")
		resp := diff(t, p, old, state, news)
		want := map[string]pulumirpc.PropertyDiff_Kind{
			"create": pulumirpc.PropertyDiff_UPDATE, "environment.A": pulumirpc.PropertyDiff_UPDATE,
			"dir": pulumirpc.PropertyDiff_ADD,
		}
		if resp.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME || fmt.Sprint(detailed(resp)) != fmt.Sprint(want) {
			t.Fatalf("got %v, %v; want %v", resp.GetChanges(), detailed(resp), want)
		}
		if len(resp.GetReplaces()) != 0 || strings.Join(resp.GetDiffs(), ",") != "create,dir,environment" {
			t.Fatalf("replaces %v diffs %v", resp.GetReplaces(), resp.GetDiffs())
		}
	})

	t.Run("a changed trigger element is an update that the SDK's replaceOnChanges turns into a replace", func(t *testing.T) {
		news := old.Copy()
		news["triggers"] = strs("t1", "t2-changed")
		resp := diff(t, p, old, state, news)
		if got := detailed(resp); len(got) != 1 || got["triggers[1]"] != pulumirpc.PropertyDiff_UPDATE {
			t.Fatalf("detailed %v", got)
		}
		if len(resp.GetReplaces()) != 0 || strings.Join(resp.GetDiffs(), ",") != "triggers" {
			t.Fatalf("replaces %v diffs %v", resp.GetReplaces(), resp.GetDiffs())
		}
		// @pulumi/command's Command constructor adds replaceOnChanges ["triggers[*]"]; the engine
		// (pkg/resource/deploy/step_generator.go applyReplaceOnChanges) replaces when such a path
		// contains a detailed-diff key.
		sdkPath, _ := resource.ParsePropertyPath("triggers[*]")
		key, _ := resource.ParsePropertyPath("triggers[1]")
		if !sdkPath.Contains(key) {
			t.Fatal("triggers[*] should contain triggers[1]")
		}
	})

	t.Run("an unknown trigger in a preview is a change", func(t *testing.T) {
		news := old.Copy()
		news["triggers"] = resource.NewArrayProperty([]resource.PropertyValue{str("t1"), unknown()})
		resp := diff(t, p, old, state, news)
		if got := detailed(resp); got["triggers[1]"] != pulumirpc.PropertyDiff_UPDATE || resp.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME {
			t.Fatalf("got %v %v", resp.GetChanges(), got)
		}
	})

	t.Run("adding or removing triggers replaces", func(t *testing.T) {
		news := old.Copy()
		delete(news, "triggers")
		resp := diff(t, p, old, state, news)
		if got := detailed(resp); got["triggers"] != pulumirpc.PropertyDiff_DELETE_REPLACE ||
			strings.Join(resp.GetReplaces(), ",") != "triggers" {
			t.Fatalf("removed: %v replaces %v", got, resp.GetReplaces())
		}
		noTriggers := old.Copy()
		delete(noTriggers, "triggers")
		resp = diff(t, p, noTriggers, withOutputs(noTriggers, "a"), old)
		if got := detailed(resp); got["triggers"] != pulumirpc.PropertyDiff_ADD_REPLACE ||
			strings.Join(resp.GetReplaces(), ",") != "triggers" {
			t.Fatalf("added: %v replaces %v", got, resp.GetReplaces())
		}
	})

	t.Run("a secret that becomes plain is a change", func(t *testing.T) {
		secretOld := old.Copy()
		secretOld["create"] = resource.MakeSecret(str("echo a"))
		resp := diff(t, p, secretOld, withOutputs(secretOld, "a"), old)
		if got := detailed(resp); got["create"] != pulumirpc.PropertyDiff_UPDATE {
			t.Fatalf("got %v", got)
		}
	})

	t.Run("without old inputs from the engine, they come from the state", func(t *testing.T) {
		unconfigured := newProvider()
		news := old.Copy()
		news["create"] = str("echo b")
		resp, err := unconfigured.Diff(context.Background(), &pulumirpc.DiffRequest{
			Urn: testURN, Id: "x", Olds: wire(t, state), News: wire(t, news),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := detailed(resp); len(got) != 1 || got["create"] != pulumirpc.PropertyDiff_UPDATE {
			t.Fatalf("got %v", got)
		}
	})
}

func TestCreateRunsTheCommand(t *testing.T) {
	p, _ := newTestProvider(t)
	inputs := resource.PropertyMap{"create": str("echo hello; echo oops >&2; printf 'two\\n\\n'")}
	id, outs := create(t, p, inputs, false)
	if !regexp.MustCompile(`^my-cmd[0-9a-f]{8}$`).MatchString(id) {
		t.Fatalf("id %q; want the name and 8 hex digits", id)
	}
	// One trailing newline is trimmed, no more.
	if got := stringOut(t, outs, "stdout"); got != "hello\ntwo\n" {
		t.Fatalf("stdout %q", got)
	}
	if got := stringOut(t, outs, "stderr"); got != "oops" {
		t.Fatalf("stderr %q", got)
	}
	if got := stringOut(t, outs, "create"); got != "echo hello; echo oops >&2; printf 'two\\n\\n'" {
		t.Fatalf("the inputs should be among the outputs: create = %q", got)
	}
}

func TestCreateWithoutCommand(t *testing.T) {
	p, _ := newTestProvider(t)
	_, outs := create(t, p, resource.PropertyMap{"delete": str("true")}, false)
	if stringOut(t, outs, "stdout") != "" || stringOut(t, outs, "stderr") != "" {
		t.Fatalf("outs %v", outs)
	}
}

func TestEnvironmentDirStdinAndShell(t *testing.T) {
	p, _ := newTestProvider(t)
	dir := t.TempDir()
	inputs := resource.PropertyMap{
		// $0 names the interpreter: /bin/sh, as v1.2.1 defaults to on Linux.
		"create":      str(`printf '%s|%s|%s|' "$0" "$GREETING" "$(pwd)"; cat`),
		"environment": env("GREETING", "hi there"),
		"dir":         str(dir),
		"stdin":       str("from stdin"),
	}
	_, outs := create(t, p, inputs, false)
	want := fmt.Sprintf("/bin/sh|hi there|%s|from stdin", dir)
	if got := stringOut(t, outs, "stdout"); got != want {
		t.Fatalf("stdout %q; want %q", got, want)
	}

	// Without dir: the provider's working directory, which the engine sets to the program's folder.
	_, outs = create(t, p, resource.PropertyMap{"create": str("pwd")}, false)
	wd, _ := os.Getwd()
	if got := stringOut(t, outs, "stdout"); got != wd {
		t.Fatalf("pwd %q; want %q", got, wd)
	}

	// A given interpreter replaces /bin/sh -c.
	_, outs = create(t, p, resource.PropertyMap{
		"create": str("print-me"), "interpreter": strs("/bin/echo", "via"),
	}, false)
	if got := stringOut(t, outs, "stdout"); got != "via print-me" {
		t.Fatalf("interpreter: %q", got)
	}
}

func TestFailingCommand(t *testing.T) {
	p, _ := newTestProvider(t)
	command := "echo to-out; sleep 0.1; echo to-err >&2; exit 3"
	_, err := p.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: testURN, Properties: wire(t, resource.PropertyMap{"create": str(command)}),
	})
	want := fmt.Sprintf("exit status 3: running %q:\nto-out\nto-err\n", command)
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v; want %q", err, want)
	}

	_, err = p.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: testURN, Properties: wire(t, resource.PropertyMap{"create": str("true"), "dir": str("/does/not/exist")}),
	})
	if err == nil || !strings.Contains(err.Error(), "/does/not/exist") || !strings.Contains(err.Error(), `running "true"`) {
		t.Fatalf("missing dir: err = %v", err)
	}
}

func TestUpdate(t *testing.T) {
	p, _ := newTestProvider(t)
	old := resource.PropertyMap{"create": str("echo created")}
	state := withOutputs(old, "created")
	state["stderr"] = str("old-err")

	t.Run("runs update, with the previous outputs in its environment", func(t *testing.T) {
		news := resource.PropertyMap{
			"create": str("echo created"),
			"update": str(`echo "updated after $PULUMI_COMMAND_STDOUT/$PULUMI_COMMAND_STDERR"`),
		}
		outs, err := update(t, p, state, old, news, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := stringOut(t, outs, "stdout"); got != "updated after created/old-err" {
			t.Fatalf("stdout %q", got)
		}
		if got := stringOut(t, outs, "update"); got != news["update"].StringValue() {
			t.Fatalf("the new inputs should be among the outputs: %q", got)
		}
	})

	t.Run("runs create when there is no update", func(t *testing.T) {
		news := resource.PropertyMap{"create": str("echo created again"), "environment": env("X", "1")}
		outs, err := update(t, p, state, old, news, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := stringOut(t, outs, "stdout"); got != "created again" {
			t.Fatalf("stdout %q", got)
		}
	})

	t.Run("addPreviousOutputInEnv false keeps the previous outputs out", func(t *testing.T) {
		news := resource.PropertyMap{
			"create":                 str(`echo "[${PULUMI_COMMAND_STDOUT-unset}]"`),
			"addPreviousOutputInEnv": resource.NewBoolProperty(false),
		}
		outs, err := update(t, p, state, old, news, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := stringOut(t, outs, "stdout"); got != "[unset]" {
			t.Fatalf("stdout %q", got)
		}
	})

	t.Run("keeps the previous outputs when nothing runs", func(t *testing.T) {
		news := resource.PropertyMap{"delete": str("true")}
		outs, err := update(t, p, state, old, news, false)
		if err != nil {
			t.Fatal(err)
		}
		if stringOut(t, outs, "stdout") != "created" || stringOut(t, outs, "stderr") != "old-err" {
			t.Fatalf("outs %v", outs)
		}
		if _, ok := outs["create"]; ok {
			t.Fatalf("the outputs mirror the new inputs, without create: %v", outs)
		}
	})

	t.Run("a failing update fails", func(t *testing.T) {
		news := resource.PropertyMap{"create": str("echo created"), "update": str("echo nope >&2; false")}
		_, err := update(t, p, state, old, news, false)
		if err == nil || err.Error() != "exit status 1: running \"echo nope >&2; false\":\nnope\n" {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDeleteGetsThePreviousOutputs(t *testing.T) {
	p, _ := newTestProvider(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "deleted")
	inputs := resource.PropertyMap{
		"create":      str("echo first line; echo second line; echo warn >&2"),
		"delete":      str(`printf '%s|%s|%s' "$PULUMI_COMMAND_STDOUT" "$PULUMI_COMMAND_STDERR" "$WHERE" > deleted`),
		"environment": env("WHERE", "from state"),
		"dir":         str(dir),
	}
	_, state := create(t, p, inputs, false)
	if _, err := p.Delete(context.Background(), &pulumirpc.DeleteRequest{
		Urn: testURN, Id: "x", Properties: wire(t, state), OldInputs: wire(t, inputs),
	}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "first line\nsecond line|warn|from state" {
		t.Fatalf("delete saw %q", got)
	}

	// No delete command: nothing runs, no error.
	if _, err := p.Delete(context.Background(), &pulumirpc.DeleteRequest{
		Urn: testURN, Id: "x", Properties: wire(t, withOutputs(resource.PropertyMap{"create": str("true")}, "")),
	}); err != nil {
		t.Fatal(err)
	}

	// A failing delete fails.
	_, err = p.Delete(context.Background(), &pulumirpc.DeleteRequest{
		Urn: testURN, Id: "x", Properties: wire(t, withOutputs(resource.PropertyMap{"delete": str("exit 7")}, "")),
	})
	if err == nil || !strings.HasPrefix(err.Error(), "exit status 7: running \"exit 7\"") {
		t.Fatalf("err = %v", err)
	}
}

func TestPreviewCreate(t *testing.T) {
	p, _ := newTestProvider(t)
	marker := filepath.Join(t.TempDir(), "ran")
	inputs := resource.PropertyMap{
		"create":      str("touch " + marker),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"KNOWN": str("k"), "LATER": unknown()}),
	}
	resp, err := p.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: testURN, Properties: wire(t, inputs), Preview: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^my-cmd[0-9a-f]{8}$`).MatchString(resp.GetId()) {
		t.Fatalf("preview id %q; v1.2.1 returns the name and 8 hex digits in a preview too", resp.GetId())
	}
	// On the wire, stdout and stderr are the unknown-string sentinel.
	fields := resp.GetProperties().GetFields()
	for _, k := range []string{"stdout", "stderr"} {
		if got := fields[k].GetStringValue(); got != plugin.UnknownStringValue {
			t.Fatalf("%s = %v; want unknown", k, fields[k])
		}
	}
	outs := unwire(t, resp.GetProperties())
	if stringOut(t, outs, "create") != "touch "+marker {
		t.Fatalf("the inputs stay known: %v", outs)
	}
	if !outs["environment"].ObjectValue()["LATER"].IsComputed() || outs["environment"].ObjectValue()["KNOWN"].StringValue() != "k" {
		t.Fatalf("environment %v", outs["environment"])
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatal("a preview must not run the command")
	}
}

func TestPreviewUpdate(t *testing.T) {
	p, _ := newTestProvider(t)
	marker := filepath.Join(t.TempDir(), "ran")
	old := resource.PropertyMap{"create": str("echo a")}
	state := withOutputs(old, "a")

	news := resource.PropertyMap{"create": str("touch " + marker)}
	outs, err := update(t, p, state, old, news, true)
	if err != nil {
		t.Fatal(err)
	}
	if !outs["stdout"].IsComputed() || !outs["stderr"].IsComputed() {
		t.Fatalf("changed input: stdout/stderr should be unknown: %v", outs)
	}
	if stringOut(t, outs, "create") != "touch "+marker {
		t.Fatalf("create %v", outs["create"])
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatal("a preview must not run the command")
	}

	// An unknown input makes them unknown too.
	outs, err = update(t, p, state, old, resource.PropertyMap{"create": str("echo a"), "stdin": unknown()}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !outs["stdout"].IsComputed() {
		t.Fatalf("unknown input: %v", outs)
	}

	// The infer layer compares the new inputs with the old *state*: an input the old state did not
	// have is not counted, so adding one leaves the old stdout known in the preview.
	outs, err = update(t, p, state, old, resource.PropertyMap{"create": str("echo a"), "dir": str("/tmp")}, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := stringOut(t, outs, "stdout"); got != "a" {
		t.Fatalf("added input: stdout %v", outs["stdout"])
	}
}

func TestSecretsStaySecret(t *testing.T) {
	p, _ := newTestProvider(t)
	inputs := resource.PropertyMap{
		"create":      resource.MakeSecret(str(`echo "$TOKEN"`)),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"TOKEN": resource.MakeSecret(str("s3cr3t")), "PLAIN": str("p")}),
		"triggers":    resource.NewArrayProperty([]resource.PropertyValue{resource.MakeSecret(str("t"))}),
	}
	_, outs := create(t, p, inputs, false)
	if !outs["create"].IsSecret() || outs["create"].SecretValue().Element.StringValue() != `echo "$TOKEN"` {
		t.Fatalf("create %v", outs["create"])
	}
	envOut := outs["environment"].ObjectValue()
	if !envOut["TOKEN"].IsSecret() || envOut["PLAIN"].IsSecret() {
		t.Fatalf("environment %v", outs["environment"])
	}
	if !outs["triggers"].ArrayValue()[0].IsSecret() {
		t.Fatalf("triggers %v", outs["triggers"])
	}
	// pulumi-go-provider v1.3.0 (infer ensureDefaultSecrets): an output is secret only when the input
	// of the same name is; stdout has none, so it is not made secret (additionalSecretOutputs does that).
	if got := stringOut(t, outs, "stdout"); got != "s3cr3t" {
		t.Fatalf("stdout %q", got)
	}

	// Secrets survive an update too.
	news := inputs.Copy()
	news["update"] = resource.MakeSecret(str("echo updated"))
	upd, err := update(t, p, outs, inputs, news, false)
	if err != nil {
		t.Fatal(err)
	}
	if !upd["create"].IsSecret() || !upd["update"].IsSecret() || !upd["environment"].ObjectValue()["TOKEN"].IsSecret() {
		t.Fatalf("update outputs %v", upd)
	}
}

func TestLogging(t *testing.T) {
	command := "echo out-line; sleep 0.1; echo err-line >&2"
	cases := []struct {
		logging *string
		want    []string
	}{
		{nil, []string{"err-line", "out-line"}},
		{ptr("stdoutAndStderr"), []string{"err-line", "out-line"}},
		{ptr("stdout"), []string{"out-line"}},
		{ptr("stderr"), []string{"err-line"}},
		{ptr("none"), nil},
	}
	for _, c := range cases {
		name := "default"
		if c.logging != nil {
			name = *c.logging
		}
		t.Run(name, func(t *testing.T) {
			p, engine := newTestProvider(t)
			inputs := resource.PropertyMap{"create": str(command)}
			if c.logging != nil {
				inputs["logging"] = str(*c.logging)
			}
			_, outs := create(t, p, inputs, false)
			got := engine.messages()
			sort.Strings(got)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("logged %q; want %q", got, c.want)
			}
			for _, l := range engine.logs {
				if l.GetUrn() != testURN || !l.GetEphemeral() || l.GetSeverity() != pulumirpc.LogSeverity_INFO {
					t.Fatalf("log %v; want an ephemeral info message about the resource", l)
				}
			}
			// Logging never changes what is captured.
			if stringOut(t, outs, "stdout") != "out-line" || stringOut(t, outs, "stderr") != "err-line" {
				t.Fatalf("outs %v", outs)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestCancelAndTimeout(t *testing.T) {
	p, _ := newTestProvider(t)
	start := time.Now()
	_, err := p.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: testURN, Properties: wire(t, resource.PropertyMap{"create": str("exec sleep 30")}), Timeout: 1,
	})
	if err == nil || time.Since(start) > 15*time.Second {
		t.Fatalf("timeout: err = %v after %v", err, time.Since(start))
	}

	errs := make(chan error, 1)
	start = time.Now()
	go func() {
		_, err := p.Create(context.Background(), &pulumirpc.CreateRequest{
			Urn: testURN, Properties: wire(t, resource.PropertyMap{"create": str("exec sleep 30")}),
		})
		errs <- err
	}()
	time.Sleep(500 * time.Millisecond)
	if _, err := p.Cancel(context.Background(), &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if err == nil {
			t.Fatal("a cancelled command should fail")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Cancel did not stop the command")
	}
}

func TestReadReturnsTheState(t *testing.T) {
	p, _ := newTestProvider(t)
	inputs := resource.PropertyMap{"create": resource.MakeSecret(str("echo a"))}
	state := withOutputs(inputs, "a")
	resp, err := p.Read(context.Background(), &pulumirpc.ReadRequest{
		Urn: testURN, Id: "my-cmd0123abcd", Properties: wire(t, state), Inputs: wire(t, inputs),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetId() != "my-cmd0123abcd" || !unwire(t, resp.GetProperties()).DeepEquals(state) ||
		!unwire(t, resp.GetInputs()).DeepEquals(inputs) {
		t.Fatalf("got %v", resp)
	}
}

func TestPluginInfoAndConfig(t *testing.T) {
	p, _ := newTestProvider(t)
	info, err := p.GetPluginInfo(context.Background(), &emptypb.Empty{})
	if err != nil || info.GetVersion() != "1.2.1" {
		t.Fatalf("info %v %v", info, err)
	}
	resp, err := p.CheckConfig(context.Background(), &pulumirpc.CheckRequest{
		Urn: "urn:pulumi:dev::proj::pulumi:providers:command::default", News: wire(t, resource.PropertyMap{"version": str("1.2.1")}),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := unwire(t, resp.GetInputs())
	if got["version"].StringValue() != "1.2.1" || got[frameworkStateKey].StringValue() != frameworkStateVersion {
		t.Fatalf("CheckConfig %v", got)
	}
	if _, err := p.DiffConfig(context.Background(), &pulumirpc.DiffRequest{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("DiffConfig: %v", err)
	}
	schema, err := p.GetSchema(context.Background(), &pulumirpc.GetSchemaRequest{})
	if err != nil || !strings.Contains(schema.GetSchema(), `"command:local:Command"`) {
		t.Fatalf("schema %v %v", schema, err)
	}
}

func TestEngineAddress(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"127.0.0.1:1234"}, "127.0.0.1:1234"},
		{[]string{"--logtostderr", "-v=9", "--tracing", "http://x", "127.0.0.1:1"}, "127.0.0.1:1"},
		{[]string{"--tracing=http://x", "127.0.0.1:2"}, "127.0.0.1:2"},
		{nil, ""},
	} {
		got, err := engineAddress(c.args)
		if err != nil || got != c.want {
			t.Errorf("engineAddress(%q) = %q, %v; want %q", c.args, got, err, c.want)
		}
	}
	if _, err := engineAddress([]string{"a", "b"}); err == nil {
		t.Error("two addresses should be refused")
	}
}

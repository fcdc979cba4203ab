// Tests of our stand-in nodejs language host (see main.go), written because the Go module proxy does not
// serve Pulumi's own pulumi-language-nodejs: plugin discovery from package.json files.
package main

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func summary(pkgs []*pulumirpc.PackageDependency) []string {
	var out []string
	for _, p := range pkgs {
		s := p.Kind + " " + p.Name + " " + p.Version
		if p.Server != "" {
			s += " " + p.Server
		}
		if p.Parameterization != nil {
			s += " param:" + p.Parameterization.Name + "@" + p.Parameterization.Version + "=" +
				string(p.Parameterization.Value)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// A program tree like a real one: Pulumi's own packages, a scoped third-party provider, nested
// node_modules, packages without a plugin, a dynamic-provider program's SDK, a policy pack, a
// package.json outside node_modules, a broken package.json, and a symlinked (and cyclic) folder.
func makeProgram(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	nm := filepath.Join(root, "node_modules")

	// The program's own package.json is not under node_modules: never a plugin source.
	writeFile(t, filepath.Join(root, "package.json"),
		`{"name":"prog","version":"1.0.0","pulumi":{"resource":true,"name":"not-me"}}`)
	// @pulumi/pulumi marks itself with a "pulumi" field but declares no plugin; the dynamic provider
	// (pulumi-nodejs) lives in it and is never reported.
	writeFile(t, filepath.Join(nm, "@pulumi/pulumi/package.json"),
		`{"name":"@pulumi/pulumi","version":"3.248.0","pulumi":{"comment":"deployment-time-only package"}}`)
	writeFile(t, filepath.Join(nm, "@pulumi/pulumi/cmd/dynamic-provider/index.js"), `// dynamic provider`)
	// Pulumi's packages: name from "pulumi.name", or from the package name; version likewise.
	writeFile(t, filepath.Join(nm, "@pulumi/kubernetes/package.json"),
		`{"name":"@pulumi/kubernetes","version":"4.34.2","pulumi":{"resource":true,"name":"kubernetes","version":"4.34.2"}}`)
	writeFile(t, filepath.Join(nm, "@pulumi/command/package.json"),
		`{"name":"@pulumi/command","version":"1.2.1","pulumi":{"resource":true}}`)
	// A scoped third-party package with a download server and a parameterization.
	writeFile(t, filepath.Join(nm, "@acme/widgets/package.json"),
		`{"name":"@acme/widgets","version":"0.3.0","pulumi":{"resource":true,"name":"widgets","version":"v0.3.1",`+
			`"server":"https://example.invalid/plugins","parameterization":{"name":"widgets-x","version":"1.0.0","value":"AAE="}}}`)
	// A third-party package that names no plugin: an error for that package only.
	writeFile(t, filepath.Join(nm, "unnamed-provider/package.json"),
		`{"name":"unnamed-provider","version":"1.0.0","pulumi":{"resource":true}}`)
	// Plain packages, with and without a "pulumi" field that declares nothing.
	writeFile(t, filepath.Join(nm, "left-pad/package.json"), `{"name":"left-pad","version":"1.3.0"}`)
	writeFile(t, filepath.Join(nm, "not-a-plugin/package.json"),
		`{"name":"not-a-plugin","version":"2.0.0","pulumi":{"resource":false,"name":"nope"}}`)
	// Nested node_modules: an older provider inside another package.
	writeFile(t, filepath.Join(nm, "@pulumi/kubernetes/node_modules/@pulumi/random/package.json"),
		`{"name":"@pulumi/random","version":"4.16.0","pulumi":{"resource":true,"name":"random"}}`)
	writeFile(t, filepath.Join(nm, "deep/node_modules/deeper/node_modules/@pulumi/tls/package.json"),
		`{"name":"@pulumi/tls","version":"5.0.0","pulumi":{"resource":true}}`)
	// A broken package.json.
	writeFile(t, filepath.Join(nm, "broken/package.json"), `{"name": `)
	// A policy pack's dependencies are not the program's.
	writeFile(t, filepath.Join(root, "policy/PulumiPolicy.yaml"), "runtime: nodejs\n")
	writeFile(t, filepath.Join(root, "policy/node_modules/@pulumi/aws/package.json"),
		`{"name":"@pulumi/aws","version":"6.0.0","pulumi":{"resource":true}}`)
	// A symlinked package from elsewhere (as npm link makes) and a link back up the tree. (As in Pulumi's
	// host, each real directory is read once: a link to a folder of the program that the walk already
	// passed outside node_modules would not be read again.)
	elsewhere := t.TempDir()
	writeFile(t, filepath.Join(elsewhere, "gcp/package.json"),
		`{"name":"@pulumi/gcp","version":"8.0.0","pulumi":{"resource":true}}`)
	if err := os.Symlink(filepath.Join(elsewhere, "gcp"), filepath.Join(nm, "@pulumi/gcp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(nm, filepath.Join(nm, "@pulumi/command/loop")); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestDiscoverPackages(t *testing.T) {
	root := makeProgram(t)
	d := discoverPackages(root)
	got := summary(d.packages)
	want := []string{
		"resource command v1.2.1",
		"resource gcp v8.0.0",
		"resource kubernetes v4.34.2",
		"resource random v4.16.0",
		"resource tls v5.0.0",
		"resource widgets v0.3.1 https://example.invalid/plugins param:widgets-x@1.0.0=\x00\x01",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("packages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, p := range d.packages {
		if p.Name == "pulumi-nodejs" || p.Name == "pulumi" || p.Name == "aws" || p.Name == "not-me" {
			t.Errorf("unexpected package %s", p.Name)
		}
	}
	// The broken file and the unnamed third-party provider are reported as errors, nothing else.
	var errs []string
	for _, e := range d.errs {
		errs = append(errs, e.Error())
	}
	joined := strings.Join(errs, "\n")
	if len(errs) != 2 || !strings.Contains(joined, "broken/package.json") ||
		!strings.Contains(joined, `missing property "name" for the third-party plugin 'unnamed-provider'`) {
		t.Fatalf("errors: %q", errs)
	}
	if len(d.sdkVersions) != 1 {
		t.Fatalf("@pulumi/pulumi copies: %v", d.sdkVersions)
	}
	if w := d.incompatibleSDKWarning(); w != "" {
		t.Fatalf("unexpected warning %q", w)
	}
}

func TestGetRequiredPackagesRPC(t *testing.T) {
	root := makeProgram(t)
	host := newLanguageHost("", "", "")
	opts, _ := structpb.NewStruct(map[string]any{"typescript": true})
	resp, err := host.GetRequiredPackages(context.Background(), &pulumirpc.GetRequiredPackagesRequest{
		Info: &pulumirpc.ProgramInfo{RootDirectory: root, ProgramDirectory: root, EntryPoint: ".", Options: opts},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Packages) != 6 {
		t.Fatalf("got %v", summary(resp.Packages))
	}
}

func TestIncompatibleSDKVersions(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "node_modules/@pulumi/pulumi/package.json"),
		`{"name":"@pulumi/pulumi","version":"3.248.0"}`)
	writeFile(t, filepath.Join(root, "node_modules/old/node_modules/@pulumi/pulumi/package.json"),
		`{"name":"@pulumi/pulumi","version":"2.25.0"}`)
	w := discoverPackages(root).incompatibleSDKWarning()
	if !strings.Contains(w, "Found incompatible versions of @pulumi/pulumi. Differing major versions") ||
		!strings.Contains(w, "2.25.0") || !strings.Contains(w, "3.248.0") {
		t.Fatalf("warning %q", w)
	}
}

func TestPluginOf(t *testing.T) {
	for _, tc := range []struct {
		info packageJSON
		want string // "" for no plugin, "error" for an error
	}{
		{packageJSON{Name: "@pulumi/aws", Version: "6.1.0"}, ""},
		{packageJSON{Name: "x", Version: "1.0.0"}, ""},
		{withPulumi(packageJSON{Name: "@pulumi/aws", Version: "6.1.0"}, "", ""), "aws v6.1.0"},
		{withPulumi(packageJSON{Name: "@pulumi/aws", Version: "v6.1.0"}, "", ""), "aws v6.1.0"},
		{withPulumi(packageJSON{Name: "@pulumiverse/grafana", Version: "0.4.0"}, "grafana", ""), "grafana v0.4.0"},
		{withPulumi(packageJSON{Name: "@pulumiverse/grafana", Version: "0.4.0"}, "", ""), "error"},
		{withPulumi(packageJSON{Name: "@pulumi/aws"}, "", ""), "error"},
		{withPulumi(packageJSON{}, "", "1.0.0"), "error"},
		{withPulumi(packageJSON{Name: "@pulumi/aws", Version: "6.1.0"}, "", "7.0.0"), "aws v7.0.0"},
	} {
		dep, err := pluginOf(tc.info)
		got := ""
		switch {
		case err != nil:
			got = "error"
		case dep != nil:
			got = dep.Name + " " + dep.Version
		}
		if got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.info, got, tc.want)
		}
	}
}

func withPulumi(p packageJSON, name, version string) packageJSON {
	p.Pulumi.Resource = true
	p.Pulumi.Name = name
	p.Pulumi.Version = version
	return p
}

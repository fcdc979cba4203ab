// Tests of our stand-in nodejs language host (see main.go), written because the Go module proxy does not
// serve Pulumi's own pulumi-language-nodejs: the built binary, started as the engine starts it.
package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

var (
	buildOnce sync.Once
	builtDir  string
	buildErr  error
	buildOut  []byte
)

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		_ = os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// hostBinary builds pulumi-language-nodejs once per test run, the way e2e/build-tools builds it.
func hostBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		builtDir, buildErr = os.MkdirTemp("", "language-host-bin")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(builtDir, "pulumi-language-nodejs"), ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly -buildvcs=false")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building pulumi-language-nodejs: %v\n%s", buildErr, buildOut)
	}
	return filepath.Join(builtDir, "pulumi-language-nodejs")
}

// The engine starts the host with its logging flags and its own address, reads one line with the port
// from stdout, and dials 127.0.0.1:<port> (sdk plugin.go newPlugin, langruntime_plugin.go).
func TestBinaryPrintsPortAndServes(t *testing.T) {
	bin := hostBinary(t)
	cmd := exec.Command(bin, "--logtostderr", "-v=1", "127.0.0.1:1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()

	lineCh := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lineCh <- line
	}()
	var line string
	select {
	case line = <-lineCh:
	case <-time.After(30 * time.Second):
		t.Fatal("no port line within 30 s")
	}
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || port <= 0 || port > 65535 || !strings.HasSuffix(line, "\n") {
		t.Fatalf("first stdout line %q is not a port", line)
	}

	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pulumirpc.NewLanguageRuntimeClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	info, err := client.GetPluginInfo(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "v3.276.0" {
		t.Errorf("version %q, want v3.276.0 (the SDK module's)", info.Version)
	}
	_, err = client.GetRequiredPlugins(ctx, &pulumirpc.GetRequiredPluginsRequest{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("GetRequiredPlugins: %v, want Unimplemented (the engine then uses GetRequiredPackages)", err)
	}
	_, err = client.GenerateProject(ctx, &pulumirpc.GenerateProjectRequest{})
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "stand-in") {
		t.Errorf("GenerateProject: %v", err)
	}
	resp, err := client.GetRequiredPackages(ctx, &pulumirpc.GetRequiredPackagesRequest{
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: makeProgram(t), RootDirectory: "/", EntryPoint: "."},
	})
	if err != nil || len(resp.Packages) != 6 {
		t.Errorf("GetRequiredPackages over gRPC: %v %v", summary(resp.GetPackages()), err)
	}

	// SIGINT (what the engine sends first when it closes a plugin) ends it cleanly.
	go func() { exited <- cmd.Wait() }()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGINT: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30 s after SIGINT")
	}
}

func TestBinaryVersionFlag(t *testing.T) {
	out, err := exec.Command(hostBinary(t), "--version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "v3.276.0" {
		t.Fatalf("--version: %q %v", out, err)
	}
}

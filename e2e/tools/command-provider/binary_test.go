package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// TestBinary builds pulumi-resource-command, starts it as the engine does (engine address as the
// argument, working directory the program's folder), reads the port from its first line of stdout,
// and drives a create and a delete over gRPC.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "pulumi-resource-command")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly -buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	engine, addr := startEngine(t)
	programDir := t.TempDir()
	cmd := exec.Command(bin, "--logtostderr", "-v=3", addr)
	cmd.Dir = programDir
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the port: %v", err)
	}
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("first line %q is not a port", line)
	}

	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pulumirpc.NewResourceProviderClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	info, err := client.GetPluginInfo(ctx, &emptypb.Empty{})
	if err != nil || info.GetVersion() != "1.2.1" {
		t.Fatalf("GetPluginInfo: %v %v", info, err)
	}
	// Like pulumi-go-provider v1.3.0, no Handshake: the engine falls back on its own.
	if _, err := client.Handshake(ctx, &pulumirpc.ProviderHandshakeRequest{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("Handshake: %v", err)
	}
	if _, err := client.Configure(ctx, &pulumirpc.ConfigureRequest{SendsOldInputs: true, SendsOldInputsToDelete: true}); err != nil {
		t.Fatal(err)
	}

	inputs := resource.PropertyMap{
		"create": str("pwd; echo created-line"),
		"delete": str(`echo "$PULUMI_COMMAND_STDOUT" > deleted.txt`),
	}
	created, err := client.Create(ctx, &pulumirpc.CreateRequest{Urn: testURN, Properties: wire(t, inputs)})
	if err != nil {
		t.Fatal(err)
	}
	state := unwire(t, created.GetProperties())
	if got := stringOut(t, state, "stdout"); got != programDir+"\ncreated-line" {
		t.Fatalf("stdout %q", got)
	}
	if got := strings.Join(engine.messages(), ","); got != programDir+",created-line" {
		t.Fatalf("logged %q", got)
	}

	if _, err := client.Delete(ctx, &pulumirpc.DeleteRequest{
		Urn: testURN, Id: created.GetId(), Properties: wire(t, state), OldInputs: wire(t, inputs),
	}); err != nil {
		t.Fatal(err)
	}
	deleted, err := os.ReadFile(filepath.Join(programDir, "deleted.txt"))
	if err != nil || string(deleted) != programDir+"\ncreated-line\n" {
		t.Fatalf("deleted.txt %q %v", deleted, err)
	}

	// A failing command reaches the engine as an error status carrying v1.2.1's message.
	_, err = client.Create(ctx, &pulumirpc.CreateRequest{Urn: testURN, Properties: wire(t, resource.PropertyMap{"create": str("exit 4")})})
	if st, _ := status.FromError(err); st.Code() != codes.Unknown || st.Message() != "exit status 4: running \"exit 4\":\n" {
		t.Fatalf("err = %v", err)
	}

	// The engine stops plugins with SIGINT.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the provider did not stop on SIGINT")
	}
}

// Tests of our stand-in nodejs language host (see main.go), written because the Go module proxy does not
// serve Pulumi's own pulumi-language-nodejs: the synchronous-invoke pipes.

//go:build !windows

package main

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type fakeMonitor struct {
	pulumirpc.ResourceMonitorClient // only Invoke is used
}

func (fakeMonitor) Invoke(
	_ context.Context, req *pulumirpc.ResourceInvokeRequest, _ ...grpc.CallOption,
) (*pulumirpc.ResourceInvokeResponse, error) {
	if req.Tok == "test:index:fail" {
		return nil, errors.New("no such thing")
	}
	return &pulumirpc.ResourceInvokeResponse{Failures: nil}, nil
}

func invokeOverPipes(t *testing.T, w io.Writer, r io.Reader, tok string) *pulumirpc.ResourceInvokeResponse {
	t.Helper()
	b, err := proto.Marshal(&pulumirpc.ResourceInvokeRequest{Tok: tok})
	must(t, err)
	must(t, binary.Write(w, binary.BigEndian, uint32(len(b))))
	_, err = w.Write(b)
	must(t, err)
	var n uint32
	must(t, binary.Read(r, binary.BigEndian, &n))
	buf := make([]byte, n)
	_, err = io.ReadFull(r, buf)
	must(t, err)
	var res pulumirpc.ResourceInvokeResponse
	must(t, proto.Unmarshal(buf, &res))
	return &res
}

// What an SDK that invokes synchronously does: open invoke_req to write, invoke_res to read.
func TestSyncInvokePipes(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	p, err := startSyncInvokes(context.Background(), fakeMonitor{})
	must(t, err)
	w, err := os.OpenFile(p.reqPath, os.O_WRONLY, 0)
	must(t, err)
	r, err := os.OpenFile(p.resPath, os.O_RDONLY, 0)
	must(t, err)

	if res := invokeOverPipes(t, w, r, "test:index:ok"); len(res.Failures) != 0 {
		t.Errorf("failures %v", res.Failures)
	}
	// An error of Invoke comes back as a failure the SDK throws.
	if res := invokeOverPipes(t, w, r, "test:index:fail"); len(res.Failures) != 1 ||
		res.Failures[0].Reason != "no such thing" {
		t.Errorf("failures %v", res.Failures)
	}
	// node closing its end ends serving without an error.
	_ = w.Close()
	_ = r.Close()
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("serving ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serving did not end after the writer closed")
	}
	p.shutdown()
	if _, err := os.Stat(p.dir); !os.IsNotExist(err) {
		t.Errorf("pipes directory left: %v", err)
	}
}

// A program that never opens the pipes (current SDKs): shutdown still ends serving and cleans up.
func TestSyncInvokePipesUnused(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	p, err := startSyncInvokes(context.Background(), fakeMonitor{})
	must(t, err)
	time.Sleep(50 * time.Millisecond) // let serve block in its open
	done := make(chan struct{})
	go func() { p.shutdown(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown hung")
	}
	select {
	case err, ok := <-p.done:
		if ok && err != nil {
			t.Errorf("serving ended with %v", err)
		}
	case <-time.After(time.Second):
		t.Error("serving still blocked after shutdown")
	}
	if _, err := os.Stat(p.dir); !os.IsNotExist(err) {
		t.Errorf("pipes directory left: %v", err)
	}
}

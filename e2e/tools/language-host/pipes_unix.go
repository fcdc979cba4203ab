// Our stand-in nodejs language host (see main.go), written because the Go module proxy does not serve
// Pulumi's own pulumi-language-nodejs. This file: the synchronous-invoke pipes (--sync).
//
// As in Pulumi's host (proxy.go servePipes, proxy_unix.go at v3.248.0): a temporary directory holds two
// FIFOs, invoke_req and invoke_res. A copy of @pulumi/pulumi that invokes synchronously writes a
// ResourceInvokeRequest there (a 4-byte big-endian length, then the protobuf bytes); the host calls the
// engine's Invoke and writes back the InvokeResponse the same way, an error of Invoke going back as a
// CheckFailure so the program can throw it. Current SDKs (3.248 included) no longer use it, but older
// copies nested in node_modules may, and cmd/run still takes --sync.

//go:build !windows

package main

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type syncPipes struct {
	dir              string
	reqPath, resPath string
	done             chan error // receives the end of serving (nil when node closed its end), then closes

	mu      sync.Mutex
	files   []*os.File
	closing bool
}

func startSyncInvokes(ctx context.Context, target pulumirpc.ResourceMonitorClient) (*syncPipes, error) {
	dir, err := os.MkdirTemp("", "pulumi-node-pipes")
	if err != nil {
		return nil, err
	}
	p := &syncPipes{
		dir:     dir,
		reqPath: filepath.Join(dir, "invoke_req"),
		resPath: filepath.Join(dir, "invoke_res"),
		done:    make(chan error, 1),
	}
	for _, path := range []string{p.reqPath, p.resPath} {
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	go func() {
		p.done <- p.serve(ctx, target)
		close(p.done)
	}()
	return p, nil
}

// open opens one end of a FIFO (blocking until the other end is opened) and keeps it for shutdown.
func (p *syncPipes) open(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files = append(p.files, f)
	if p.closing {
		return nil, io.EOF
	}
	return f, nil
}

func (p *syncPipes) serve(ctx context.Context, target pulumirpc.ResourceMonitorClient) error {
	requests, err := p.open(p.reqPath, os.O_RDONLY)
	if err != nil {
		return ignoreEOF(err)
	}
	responses, err := p.open(p.resPath, os.O_WRONLY)
	if err != nil {
		return ignoreEOF(err)
	}
	for {
		var n uint32
		if err := binary.Read(requests, binary.BigEndian, &n); err != nil {
			return ignoreEOF(err) // EOF: node closed its end
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(requests, buf); err != nil {
			return err
		}
		var req pulumirpc.ResourceInvokeRequest
		if err := proto.Unmarshal(buf, &req); err != nil {
			return err
		}
		res, err := target.Invoke(ctx, &req)
		if err != nil {
			// The pipe can only carry a response: an error travels as a failure that the SDK throws.
			if res == nil {
				res = &pulumirpc.ResourceInvokeResponse{}
			}
			res.Failures = append(res.Failures, &pulumirpc.CheckFailure{Reason: err.Error()})
		}
		out, err := proto.Marshal(res)
		if err != nil {
			return err
		}
		//nolint:gosec // a protobuf message is below 2 GiB
		if err := binary.Write(responses, binary.BigEndian, uint32(len(out))); err != nil {
			return err
		}
		if _, err := responses.Write(out); err != nil {
			return err
		}
	}
}

func ignoreEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}

// shutdown ends serving and removes the FIFOs. A serve still waiting for node to open a FIFO is released
// by opening the other end ourselves (node, if it ever used them, has exited by now).
func (p *syncPipes) shutdown() {
	p.mu.Lock()
	p.closing = true
	for _, f := range p.files {
		_ = f.Close()
	}
	p.mu.Unlock()

	deadline := time.After(2 * time.Second)
	for {
		for _, end := range []struct {
			path string
			flag int
		}{{p.reqPath, os.O_WRONLY}, {p.resPath, os.O_RDONLY}} {
			if f, err := os.OpenFile(end.path, end.flag|syscall.O_NONBLOCK, 0); err == nil {
				_ = f.Close()
			}
		}
		select {
		case <-p.done:
			_ = os.RemoveAll(p.dir)
			return
		case <-deadline:
			_ = os.RemoveAll(p.dir)
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

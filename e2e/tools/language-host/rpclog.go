// Our stand-in nodejs language host (see main.go), written because the Go module proxy does not serve
// Pulumi's own pulumi-language-nodejs. This file: logging, including a record of the RPCs the engine calls.
package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
)

// rpcLogEnv names a file to which the host appends one line per RPC it serves ("<time> <method> <code>"),
// so that a test can see which RPCs the engine actually calls. Unset: no record.
const rpcLogEnv = "LANGUAGE_HOST_RPC_LOG"

var rpcLogMu sync.Mutex

func recordRPC(path, method string, err error) {
	rpcLogMu.Lock()
	defer rpcLogMu.Unlock()
	f, ferr := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if ferr != nil {
		return
	}
	defer f.Close()
	outcome := "ok"
	if err != nil {
		outcome = "error: " + err.Error()
	}
	fmt.Fprintf(f, "%s %d %s %s\n", time.Now().UTC().Format(time.RFC3339Nano), os.Getpid(), method, outcome)
}

// rpcLogServerOptions returns interceptors that record every RPC in path (none when path is empty).
func rpcLogServerOptions(path string) []grpc.ServerOption {
	if path == "" {
		return nil
	}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		recordRPC(path, info.FullMethod, err)
		return resp, err
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		err := handler(srv, ss)
		recordRPC(path, info.FullMethod, err)
		return err
	}
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(unary), grpc.ChainStreamInterceptor(stream)}
}

func logVerbose(level int32, format string, args ...any) {
	logging.V(level).Infof(format, args...)
}

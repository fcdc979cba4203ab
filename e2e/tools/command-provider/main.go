// pulumi-resource-command: our stand-in for pulumi-command 1.2.1's local.Command (the
// `command:local:Command` resource and nothing else), written for the real test tier because the Go
// module proxy does not serve github.com/pulumi/pulumi-command/provider at any version. It is our own
// code, written against the behaviour of pulumi-command v1.2.1 (provider/pkg/provider/local and
// common, built on pulumi-go-provider v1.3.0's infer layer); the semantics it copies, and where it
// departs from them, are described in README.md beside this file.
//
// The engine starts it as `pulumi-resource-command [--logtostderr] [-v=N] [--tracing URL] ENGINE`,
// reads the port it prints on the first line of stdout, and talks pulumirpc.ResourceProvider to it.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/grpclog"
)

// Nothing but the port may reach stdout: keep gRPC's own logging off it.
func init() { grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, io.Discard, os.Stderr)) }

func main() {
	if err := serve(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %s", err.Error())
		os.Exit(1)
	}
}

// engineAddress picks the engine address out of the plugin arguments. The engine may put logging and
// tracing flags first (sdk/go/common/resource/plugin/plugin.go buildPluginArguments): they are ignored.
func engineAddress(args []string) (string, error) {
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			positional = append(positional, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		if name == "tracing" && i+1 < len(args) { // `--tracing URL`
			i++
		}
	}
	switch len(positional) {
	case 0:
		return "", nil // attach mode: the engine calls Attach with its address
	case 1:
		return positional[0], nil
	default:
		return "", fmt.Errorf("fatal: could not connect to host RPC; unexpected arguments %q", positional)
	}
}

// serve runs the provider until the engine stops it (SIGINT) or goes away, as
// pkg/resource/provider.MainContext does: connect to the engine, serve gRPC on a free loopback
// port, print the port.
func serve(ctx context.Context, args []string, stdout io.Writer) error {
	addr, err := engineAddress(args)
	if err != nil {
		return err
	}

	ctx, cancel := signal.NotifyContext(ctx, os.Interrupt)
	defer cancel()

	prov := newProvider()
	if addr != "" {
		host, err := newHostClient(addr)
		if err != nil {
			return fmt.Errorf("fatal: could not connect to host RPC: %w", err)
		}
		defer host.Close()
		prov.setHost(host)

		// Stop when the engine no longer answers its health check.
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		if err := rpcutil.Healthcheck(ctx, addr, 5*time.Minute, cancel); err != nil {
			return fmt.Errorf("could not start health check host RPC server: %w", err)
		}
	}

	stop := make(chan bool)
	go func() {
		<-ctx.Done()
		close(stop)
	}()

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, prov)
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("fatal: %w", err)
	}

	// The provider protocol: the first line of stdout is the port.
	fmt.Fprintf(stdout, "%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		return fmt.Errorf("fatal: %w", err)
	}
	return nil
}

// pulumi-language-nodejs: our stand-in for Pulumi's Node.js language host, written because the Go module
// proxy does not serve github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 at any version.
// It is our own code. It follows the behaviour of Pulumi's host, read at v3.248.0
// (sdk/nodejs/cmd/pulumi-language-nodejs/main.go; Run, GetRequiredPackages and the monitor proxy are the
// same up to v3.260, the newest source readable here, and v3.276.0's engine makes the same calls of a
// language host as v3.248.0's) for what a Pulumi program needs: it serves the
// pulumirpc.LanguageRuntime service, prints its port on stdout, and runs a program with node on
// @pulumi/pulumi's own cmd/run from the program's node_modules, with the same arguments and environment.
// Code generation, packing, linking and plugin programs are not implemented (Unimplemented).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// sdkModule is the module whose version this host reports when no version was stamped at build time.
const sdkModule = "github.com/pulumi/pulumi/sdk/v3"

func main() {
	tracingEndpoint := flag.String("tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	runtimeName := flag.String("runtime", "nodejs", "The runtime that runs programs (only nodejs here)")
	showVersion := flag.Bool("version", false, "Print the plugin version and exit")
	// The engine adds --logtostderr and -v=N when the user asks for --logflow (plugin.go buildPluginArguments).
	if flag.Lookup("logtostderr") == nil {
		flag.Bool("logtostderr", false, "Log to stderr instead of a file")
	}
	if flag.Lookup("v") == nil {
		flag.Int("v", 0, "Log verbosity")
	}
	flag.Parse()

	if *showVersion {
		fmt.Println(hostVersion())
		return
	}
	logging.InitLogging(false, 0, false)
	cmdutil.InitTracing("pulumi-language-nodejs", "pulumi-language-nodejs", *tracingEndpoint)

	if *runtimeName != "nodejs" {
		cmdutil.Exit(fmt.Errorf("unsupported runtime %q: this stand-in language host runs nodejs only", *runtimeName))
	}

	// The engine passes its own address as the last positional argument (langruntime_plugin.go
	// buildArgsForNewPlugin). Without it (a debugging start), Handshake supplies it later.
	engineAddress := flag.Arg(0)

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	stop := make(chan bool)
	go func() {
		<-ctx.Done()
		cancel()
		close(stop)
	}()

	if engineAddress != "" {
		// Shut down when the engine goes away, as Pulumi's plugins do.
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, cancel); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
	}

	host := newLanguageHost(engineAddress, *tracingEndpoint, os.Getenv("PULUMI_OTEL_EXPORTER_OTLP_ENDPOINT"))
	options := append(rpcLogServerOptions(os.Getenv(rpcLogEnv)), rpcutil.TracingServerInterceptorOptions(nil)...)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: options,
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}

	// The engine reads this one line to learn where to connect (plugin.go newPlugin).
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

// hostVersion is the version stamped with -X .../common/version.Version, or else the version of the
// Pulumi SDK module this host is built with (v3.276.0), the form Pulumi's release builds stamp.
func hostVersion() string {
	if version.Version != "" {
		return version.Version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == sdkModule {
				return dep.Version
			}
		}
	}
	return ""
}

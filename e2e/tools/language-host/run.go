// Our stand-in nodejs language host (see main.go), written because the Go module proxy does not serve
// Pulumi's own pulumi-language-nodejs. This file: Run, which runs the program with node.
//
// As Pulumi's host does (main.go Run, execRuntime, constructArguments, constructConfig at v3.248.0):
// serve a resource monitor proxy and the synchronous-invoke pipes, find node on $PATH, resolve
// @pulumi/pulumi/cmd/run from the program directory, and run
//
//	node [nodeargs...] <cmd/run> --monitor <proxy> --engine <engine> --sync <pipes dir>
//	     [--organization o] [--project p] [--root-directory r] [--stack s] [--pwd <program dir>]
//	     [--dry-run] --parallel <n> [--tracing <url>] <entry point> [args...]
//
// with PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS and, for TypeScript, PULUMI_NODEJS_TYPESCRIPT and
// PULUMI_NODEJS_TSCONFIG_PATH added to the host's own environment.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/shlex"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	// The module that runs a program; PULUMI_LANGUAGE_NODEJS_RUN_PATH overrides it, as in Pulumi's host.
	defaultRunPath = "@pulumi/pulumi/cmd/run"
	runPathEnv     = "PULUMI_LANGUAGE_NODEJS_RUN_PATH"

	// cmd/run exits with this code after it has already shown the user an actionable error: the engine
	// then stops without adding a message of its own (RunResponse.bail).
	exitAfterUserActionableMessage = 32
)

// runParams are what Run knows besides the request when it builds node's command line.
type runParams struct {
	runPath       string   // resolved path of @pulumi/pulumi/cmd/run
	monitor       string   // address of our resource monitor proxy
	engine        string   // the engine's address
	syncDir       string   // directory of the synchronous-invoke pipes
	tracing       string   // tracing endpoint, if any
	otelEndpoint  string   // PULUMI_OTEL_EXPORTER_OTLP_ENDPOINT, if any
	baseEnv       []string // the environment node starts from (the host's own)
	runtimeOption map[string]any
}

// nodeCommand builds node's arguments (without the node executable) and environment for a RunRequest.
func nodeCommand(req *pulumirpc.RunRequest, p runParams) (args, env []string, err error) {
	opts, err := parseNodeOptions(p.runtimeOption)
	if err != nil {
		return nil, nil, err
	}
	nodeArgs, err := shlex.Split(opts.nodeArgs)
	if err != nil {
		return nil, nil, fmt.Errorf("nodeargs option: %w", err)
	}

	args = append(args, nodeArgs...)
	args = append(args, p.runPath)
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flag("monitor", p.monitor)
	flag("engine", p.engine)
	flag("sync", p.syncDir)
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("root-directory", req.GetInfo().GetRootDirectory())
	flag("stack", req.GetStack())
	flag("pwd", req.GetInfo().GetProgramDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flag("parallel", strconv.Itoa(int(req.GetParallel())))
	flag("tracing", p.tracing)
	// The engine always names an entry point, "." for the program directory itself.
	args = append(args, req.GetInfo().GetEntryPoint())
	args = append(args, req.GetArgs()...)

	cfg, err := configJSON(req.GetConfig())
	if err != nil {
		return nil, nil, fmt.Errorf("failed to serialize configuration: %w", err)
	}
	secretKeys := "[]"
	if keys := req.GetConfigSecretKeys(); keys != nil {
		b, err := json.Marshal(keys)
		if err != nil {
			return nil, nil, fmt.Errorf("failed to serialize configuration secret keys: %w", err)
		}
		secretKeys = string(b)
	}

	env = append(env, p.baseEnv...)
	env = append(env, "PULUMI_CONFIG="+cfg, "PULUMI_CONFIG_SECRET_KEYS="+secretKeys)
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfigPath != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfigPath)
	}
	if p.otelEndpoint != "" {
		env = append(env, "PULUMI_OTEL_EXPORTER_OTLP_ENDPOINT="+p.otelEndpoint)
	}
	return args, env, nil
}

// configJSON is the PULUMI_CONFIG object: each "<namespace>:<name>" key of the engine is written in the
// older "<namespace>:config:<name>" form, which every @pulumi/pulumi version reads.
func configJSON(cfg map[string]string) (string, error) {
	if cfg == nil {
		return "{}", nil
	}
	out := make(map[string]string, len(cfg))
	for k, v := range cfg {
		key, err := config.ParseKey(k)
		if err != nil {
			return "", err
		}
		out[key.Namespace()+":config:"+key.Name()] = v
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// locateModule resolves a module (such as @pulumi/pulumi/cmd/run) the way the program itself would, from
// the program directory, so that the program's own copy of @pulumi/pulumi runs it.
func locateModule(ctx context.Context, nodeBin, programDir, module string) (string, error) {
	const script = `try { console.log(require.resolve(process.argv[1])); } catch (e) {` +
		` if (e.code === "MODULE_NOT_FOUND") { console.error("It looks like the Pulumi SDK has not been` +
		` installed: " + process.argv[1] + " cannot be found from " + process.cwd() + ". Have you run` +
		` pulumi install (or npm install)?"); } else { console.error(e.message); } process.exit(1); }`
	cmd := exec.CommandContext(ctx, nodeBin, "-e", script, module)
	cmd.Dir = programDir
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && len(exitErr.Stderr) > 0 {
			return "", errors.New(strings.TrimSpace(string(exitErr.Stderr)))
		}
		return "", fmt.Errorf("could not resolve %s with %s: %w", module, nodeBin, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Run runs the program once, for a preview, an update, a refresh or a destroy that runs the program.
func (host *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	engine := host.engine()
	if engine == "" {
		return nil, errors.New("when debugging or running explicitly, must call Handshake before Run")
	}
	if req.GetAttachDebugger() {
		return &pulumirpc.RunResponse{Error: "attaching a debugger (pulumi --attach-debugger) is not supported " +
			"by this stand-in nodejs language host"}, nil
	}

	// node talks to our proxy, which forwards to the engine's monitor and marks RegisterResource calls as
	// coming from Node.js (the engine's alias compatibility for older Node.js SDKs keys on that).
	conn, err := grpc.NewClient(req.GetMonitorAddress(),
		grpc.WithTransportCredentials(insecure.NewCredentials()), rpcutil.GrpcChannelOptions())
	if err != nil {
		return nil, fmt.Errorf("could not connect to the resource monitor: %w", err)
	}
	defer conn.Close()
	target := pulumirpc.NewResourceMonitorClient(conn)

	stopProxy := make(chan bool, 1)
	defer func() { stopProxy <- true }()
	proxy, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stopProxy,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceMonitorServer(srv, &monitorProxy{target: target})
			return nil
		},
	})
	if err != nil {
		return nil, err
	}

	pipes, err := startSyncInvokes(ctx, target)
	if err != nil {
		return nil, err
	}
	defer pipes.shutdown()

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not find node on the $PATH: %s", err)}, nil
	}
	runPath := os.Getenv(runPathEnv)
	if runPath == "" {
		runPath = defaultRunPath
	}
	runPath, err = locateModule(ctx, nodeBin, req.GetInfo().GetProgramDirectory(), runPath)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	args, env, err := nodeCommand(req, runParams{
		runPath:       runPath,
		monitor:       fmt.Sprintf("127.0.0.1:%d", proxy.Port),
		engine:        engine,
		syncDir:       pipes.dir,
		tracing:       host.tracing,
		otelEndpoint:  host.otelEndpoint,
		baseEnv:       os.Environ(),
		runtimeOption: optionsOf(req.GetInfo()),
	})
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	logVerbose(5, "Language host launching process: %s %s", nodeBin, strings.Join(args, " "))

	result := make(chan *pulumirpc.RunResponse, 1)
	go func() { result <- host.runNode(ctx, nodeBin, args, env) }()

	pipesDone := pipes.done
	for {
		select {
		case err := <-proxy.Done:
			if err != nil {
				return &pulumirpc.RunResponse{Error: err.Error()}, nil
			}
			proxy.Done = nil
		case err := <-pipesDone:
			if err != nil {
				return &pulumirpc.RunResponse{Error: err.Error()}, nil
			}
			pipesDone = nil
		case resp := <-result:
			return resp, nil
		}
	}
}

// runNode runs node to its end and turns how it ended into a RunResponse.
func (host *languageHost) runNode(ctx context.Context, nodeBin string, args, env []string) *pulumirpc.RunResponse {
	// The engine's Cancel, or the end of the Run call, interrupts node; 5 s later it is killed.
	cmdCtx, cancel := context.WithCancel(host.cancelCtx)
	defer cancel()
	stopAfter := context.AfterFunc(ctx, cancel)
	defer stopAfter()

	cmd := exec.CommandContext(cmdCtx, nodeBin, args...)
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = env
	// Through a copy, not our own descriptors: node may make its stdout/stderr non-blocking. The engine
	// shows what we write after the port line as the program's output.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	sniffer := &oomSniffer{}
	stderr := sniffer.watch(os.Stderr)
	cmd.Stderr = stderr

	err := cmd.Run()
	stderr.Close()
	sniffer.wait()
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	_ = os.Stdout.Sync()
	_ = os.Stderr.Sync()

	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Problem executing program (could not run language executor): %v", err),
		}
	}
	switch code := exitErr.ExitCode(); code {
	case exitAfterUserActionableMessage:
		return &pulumirpc.RunResponse{Bail: true}
	case 0:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited unexpectedly: %v", exitErr)}
	default:
		msg := fmt.Sprintf("Program exited with non-zero exit code: %d", code)
		if code == -1 {
			// Ended by a signal: say which.
			msg = fmt.Sprintf("Program exited unexpectedly: %v", exitErr)
		}
		if sniffer.detected.Load() {
			msg += ". " + oomHint
		}
		return &pulumirpc.RunResponse{Error: msg}
	}
}

const oomHint = "Detected a possible out of memory error. Consider increasing the memory available to " +
	"the nodejs process by setting the `nodeargs` runtime option in Pulumi.yaml to " +
	"`nodeargs: --max-old-space-size=<size>` (megabytes)."

// oomSniffer passes node's stderr on and notes whether V8 reported running out of heap.
type oomSniffer struct {
	detected atomic.Bool
	done     chan struct{}
}

func (o *oomSniffer) watch(out io.Writer) io.WriteCloser {
	r, w := io.Pipe()
	o.done = make(chan struct{})
	go func() {
		defer close(o.done)
		scanner := bufio.NewScanner(io.TeeReader(r, out))
		scanner.Buffer(make([]byte, 64*1024), 1024*1024)
		for scanner.Scan() {
			line := scanner.Text()
			if strings.Contains(line, "<--- Last few GCs --->") ||
				strings.Contains(line, "JavaScript heap out of memory") {
				o.detected.Store(true)
			}
		}
		// Keep draining if a line was too long for the scanner.
		_, _ = io.Copy(io.Discard, io.TeeReader(r, out))
	}()
	return w
}

func (o *oomSniffer) wait() {
	select {
	case <-o.done:
	case <-time.After(15 * time.Second):
	}
}

// Our stand-in nodejs language host (see main.go), written because the Go module proxy does not serve
// Pulumi's own pulumi-language-nodejs. This file: the service, its options and its smaller RPCs.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// languageHost serves pulumirpc.LanguageRuntime for Node.js programs.
type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string // from the command line, or from Handshake

	tracing      string // --tracing endpoint, passed on to node
	otelEndpoint string // PULUMI_OTEL_EXPORTER_OTLP_ENDPOINT, passed on to node

	// cancelCtx ends when the engine calls Cancel; a running program then gets SIGINT.
	cancelCtx  context.Context
	cancelFunc context.CancelFunc
}

func newLanguageHost(engineAddress, tracing, otelEndpoint string) *languageHost {
	ctx, cancel := context.WithCancel(context.Background())
	return &languageHost{
		engineAddress: engineAddress,
		tracing:       tracing,
		otelEndpoint:  otelEndpoint,
		cancelCtx:     ctx,
		cancelFunc:    cancel,
	}
}

func (host *languageHost) engine() string {
	host.mu.Lock()
	defer host.mu.Unlock()
	return host.engineAddress
}

// nodeOptions are the runtime options of Pulumi.yaml (runtime.options) that Pulumi's nodejs host reads.
type nodeOptions struct {
	typescript     bool   // typescript (default true): run .ts through ts-node (PULUMI_NODEJS_TYPESCRIPT)
	tsconfigPath   string // tsconfig: PULUMI_NODEJS_TSCONFIG_PATH
	nodeArgs       string // nodeargs: extra node arguments, split like a shell would
	packageManager npm.PackageManagerType
}

func parseNodeOptions(options map[string]any) (nodeOptions, error) {
	opts := nodeOptions{typescript: true, packageManager: npm.AutoPackageManager}
	if v, ok := options["typescript"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return opts, errors.New("typescript option must be a boolean")
		}
		opts.typescript = b
	}
	if v, ok := options["tsconfig"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, errors.New("tsconfig option must be a string")
		}
		opts.tsconfigPath = s
	}
	if v, ok := options["nodeargs"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, errors.New("nodeargs option must be a string")
		}
		opts.nodeArgs = s
	}
	if v, ok := options["packagemanager"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, errors.New("packagemanager option must be a string")
		}
		switch s {
		case "auto":
			opts.packageManager = npm.AutoPackageManager
		case "npm":
			opts.packageManager = npm.NpmPackageManager
		case "yarn":
			opts.packageManager = npm.YarnPackageManager
		case "pnpm":
			opts.packageManager = npm.PnpmPackageManager
		case "bun":
			opts.packageManager = npm.BunPackageManager
		default:
			return opts, fmt.Errorf("packagemanager option must be one of auto, npm, yarn, pnpm or bun, got %q", s)
		}
	}
	return opts, nil
}

func optionsOf(info *pulumirpc.ProgramInfo) map[string]any {
	if info == nil || info.GetOptions() == nil {
		return map[string]any{}
	}
	return info.GetOptions().AsMap()
}

// Handshake gives the host the engine's address when the engine attaches to an already running host
// (PULUMI_DEBUG_LANGUAGES); a host the engine starts itself gets the address on its command line.
func (host *languageHost) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	host.mu.Lock()
	host.engineAddress = req.GetEngineAddress()
	host.mu.Unlock()

	hcCtx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	if err := rpcutil.Healthcheck(hcCtx, req.GetEngineAddress(), 5*time.Minute, cancel); err != nil {
		cancel()
		return nil, fmt.Errorf("could not start health check host RPC server: %w", err)
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (host *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: hostVersion()}, nil
}

// GetRequiredPlugins is superseded by GetRequiredPackages; Pulumi's host at v3.248.0 no longer implements it
// either, and the engine calls it only when GetRequiredPackages is unimplemented.
func (host *languageHost) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method GetRequiredPlugins not implemented")
}

// GetRequiredPackages reports the resource plugins that the program's node_modules packages declare.
func (host *languageHost) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	result := discoverPackages(req.GetInfo().GetProgramDirectory())
	if msg := result.incompatibleSDKWarning(); msg != "" {
		fmt.Fprint(os.Stderr, msg)
	}
	// As in Pulumi's host, an unreadable package.json only loses that package: the rest is still reported.
	for _, err := range result.errs {
		logVerbose(3, "while discovering plugins: %v", err)
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: result.packages}, nil
}

// InstallDependencies installs the program's node packages with its package manager (npm unless the
// project or its lock files say otherwise), from the workspace root when the program is in one.
func (host *languageHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()

	opts, err := parseNodeOptions(optionsOf(req.GetInfo()))
	if err != nil {
		return fmt.Errorf("failed to parse options: %w", err)
	}
	if req.GetUseLanguageVersionTools() {
		fmt.Fprintln(stdout, "note: this language host does not switch node versions (.nvmrc, .node-version); "+
			"using the node on $PATH")
	}

	fmt.Fprint(stdout, "Installing dependencies...\n\n")
	root := req.GetInfo().GetProgramDirectory()
	if ws, err := npm.FindWorkspaceRoot(root); err == nil {
		fmt.Fprintf(stdout, "Detected workspace root at %s\n", ws)
		root = ws
	} else if !errors.Is(err, npm.ErrNotInWorkspace) {
		return fmt.Errorf("failure while trying to find workspace root: %w", err)
	}
	if _, err := npm.Install(server.Context(), opts.packageManager, root, false /*production*/, stdout, stderr); err != nil {
		return err
	}
	fmt.Fprint(stdout, "Finished installing dependencies\n\n")
	return closer.Close()
}

// RuntimeOptionsPrompts asks `pulumi new` for a package manager when Pulumi.yaml names none.
func (host *languageHost) RuntimeOptionsPrompts(
	ctx context.Context, req *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	var prompts []*pulumirpc.RuntimeOptionPrompt
	if _, has := optionsOf(req.GetInfo())["packagemanager"]; !has {
		prompts = append(prompts, &pulumirpc.RuntimeOptionPrompt{
			Key:         "packagemanager",
			Description: "The package manager to use for installing dependencies",
			PromptType:  pulumirpc.RuntimeOptionPrompt_STRING,
			Choices:     plugin.MakeExecutablePromptChoices("npm", "pnpm", "yarn", "bun"),
			Default: &pulumirpc.RuntimeOptionPrompt_RuntimeOptionValue{
				PromptType:  pulumirpc.RuntimeOptionPrompt_STRING,
				StringValue: "npm",
			},
		})
	}
	return &pulumirpc.RuntimeOptionsResponse{Prompts: prompts}, nil
}

// Template has nothing to adjust in a Node.js template (Pulumi's host does nothing either).
func (host *languageHost) Template(context.Context, *pulumirpc.TemplateRequest) (*pulumirpc.TemplateResponse, error) {
	return &pulumirpc.TemplateResponse{}, nil
}

// About reports node's path and version and the package manager, for `pulumi about`.
func (host *languageHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	opts, err := parseNodeOptions(optionsOf(req.GetInfo()))
	if err != nil {
		return nil, fmt.Errorf("failed to parse options: %w", err)
	}
	pm, err := npm.ResolvePackageManager(opts.packageManager, req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, fmt.Errorf("could not resolve packagemanager: %w", err)
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find executable %q: %w", "node", err)
	}
	resp := &pulumirpc.AboutResponse{
		Executable: nodeBin,
		Metadata:   map[string]string{"packagemanager": pm.Name()},
	}
	// Versions are best effort, as in Pulumi's host.
	if out, err := exec.CommandContext(ctx, nodeBin, "--version").Output(); err == nil {
		resp.Version = strings.TrimSpace(string(out))
	}
	if v, err := pm.Version(); err == nil {
		resp.Metadata["packagemanagerVersion"] = v.String()
	}
	return resp, nil
}

// GetProgramDependencies lists the program's node packages from its lock file.
func (host *languageHost) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	opts, err := parseNodeOptions(optionsOf(req.GetInfo()))
	if err != nil {
		return nil, fmt.Errorf("failed to parse options: %w", err)
	}
	pm, err := npm.ResolvePackageManager(opts.packageManager, req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, fmt.Errorf("failed to determine package manager: %w", err)
	}
	pkgs, err := pm.ListPackages(ctx, req.GetInfo().GetProgramDirectory(), req.GetTransitiveDependencies())
	if err != nil {
		return nil, fmt.Errorf("failed to get node dependencies: %w", err)
	}
	deps := make([]*pulumirpc.DependencyInfo, 0, len(pkgs))
	for _, p := range pkgs {
		deps = append(deps, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// Cancel interrupts a running program (SIGINT, then a kill 5 s later).
func (host *languageHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	host.cancelFunc()
	return &emptypb.Empty{}, nil
}

// What this stand-in leaves out: nothing in the project's `pulumi preview/up/destroy/refresh` or its
// Automation API use reaches these.
const notHere = "is not implemented by this stand-in nodejs language host (it runs programs only; " +
	"Pulumi's own pulumi-language-nodejs is not served by the Go module proxy)"

func (host *languageHost) RunPlugin(
	*pulumirpc.RunPluginRequest, grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	return status.Error(codes.Unimplemented,
		"RunPlugin (Node.js plugins and policy packs run from source) "+notHere)
}

func (host *languageHost) GenerateProgram(
	context.Context, *pulumirpc.GenerateProgramRequest,
) (*pulumirpc.GenerateProgramResponse, error) {
	return nil, status.Error(codes.Unimplemented, "GenerateProgram (pulumi convert) "+notHere)
}

func (host *languageHost) GenerateProject(
	context.Context, *pulumirpc.GenerateProjectRequest,
) (*pulumirpc.GenerateProjectResponse, error) {
	return nil, status.Error(codes.Unimplemented, "GenerateProject (pulumi convert, language conformance) "+notHere)
}

func (host *languageHost) GeneratePackage(
	context.Context, *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	return nil, status.Error(codes.Unimplemented, "GeneratePackage (pulumi package gen-sdk) "+notHere)
}

func (host *languageHost) Pack(context.Context, *pulumirpc.PackRequest) (*pulumirpc.PackResponse, error) {
	return nil, status.Error(codes.Unimplemented, "Pack (SDK packing for pulumi package add) "+notHere)
}

func (host *languageHost) Link(context.Context, *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	return nil, status.Error(codes.Unimplemented, "Link (pulumi package add of a local SDK) "+notHere)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	commandToken = "command:local:Command"
	// The version this stands in for; GetPluginInfo reports it, as the real binary reports its own.
	pluginVersion = "1.2.1"
	// pulumi-go-provider stores its version in the provider's config inputs (provider.go CheckConfig,
	// frameworkStateKeyName); v1.2.1 links go-provider v1.3.0, whose embedded .version says 1.2.0.
	frameworkStateKey     = "__pulumi-go-provider-version"
	frameworkStateVersion = "1.2.0"
)

type commandProvider struct {
	pulumirpc.UnimplementedResourceProviderServer

	mu                sync.Mutex
	host              *hostClient
	supportsOldInputs bool

	// In-flight operations, cancelled by Cancel (pulumi-go-provider middleware/cancel).
	ops       map[int]context.CancelFunc
	nextOp    int
	cancelled bool
}

func newProvider() *commandProvider {
	return &commandProvider{ops: map[int]context.CancelFunc{}}
}

func (p *commandProvider) setHost(h *hostClient) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.host = h
}

// operation gives a call its own context: cancelled by Cancel (at once if Cancel came before) and,
// for Create/Update/Delete, bounded by the resource's custom timeout in whole seconds.
func (p *commandProvider) operation(ctx context.Context, timeout float64) (context.Context, func()) {
	var cancel context.CancelFunc
	if timeout == 0 {
		ctx, cancel = context.WithCancel(ctx)
	} else {
		ctx, cancel = context.WithTimeout(ctx, time.Second*time.Duration(timeout))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancelled {
		cancel()
		return ctx, cancel
	}
	id := p.nextOp
	p.nextOp++
	p.ops[id] = cancel
	return ctx, func() {
		p.mu.Lock()
		delete(p.ops, id)
		p.mu.Unlock()
		cancel()
	}
}

// logger sends each line of a command's output to the engine as an ephemeral info message about urn.
func (p *commandProvider) logger(ctx context.Context, urn string) logFunc {
	p.mu.Lock()
	host := p.host
	p.mu.Unlock()
	return func(line string) {
		if host != nil && host.logStatus(ctx, urn, line) == nil {
			return
		}
		fmt.Fprintf(os.Stderr, "INFO %s urn=%s\n", line, urn)
	}
}

func checkType(urn string) error {
	typ := resource.URN(urn).Type().String()
	if typ != commandToken {
		return status.Errorf(codes.NotFound,
			"Resource '%s' not found (this stand-in for pulumi-command 1.2.1 implements %s only)", typ, commandToken)
	}
	return nil
}

func (p *commandProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: pluginVersion}, nil
}

func (p *commandProvider) GetSchema(_ context.Context, req *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: schemaJSON}, nil
}

// CheckConfig returns the provider's inputs with the framework key added, as pulumi-go-provider does.
func (p *commandProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	news[frameworkStateKey] = resource.NewStringProperty(frameworkStateVersion)
	inputs, err := marshal(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs}, nil
}

// DiffConfig is not implemented by v1.2.1 either (no config): the engine diffs provider inputs itself.
func (p *commandProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return nil, status.Error(codes.Unimplemented, "DiffConfig is not implemented")
}

func (p *commandProvider) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	p.mu.Lock()
	p.supportsOldInputs = req.GetSendsOldInputs() && req.GetSendsOldInputsToDelete()
	p.mu.Unlock()
	return &pulumirpc.ConfigureResponse{
		AcceptSecrets:   true,
		SupportsPreview: true,
		AcceptResources: true,
		AcceptOutputs:   true,
	}, nil
}

func (p *commandProvider) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	return nil, status.Errorf(codes.NotFound,
		"Invoke '%s' not found (this stand-in for pulumi-command 1.2.1 implements %s only)", req.GetTok(), commandToken)
}

// Check validates the inputs against local.CommandInputs and returns them unchanged: v1.2.1 has no
// defaults and no always-secret fields, so the infer layer's decode/encode round trip is the identity
// for valid inputs (secrets and unknowns stay where they were).
func (p *commandProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	args, failures := decodeArgs(news, false)
	if args.AssetPaths {
		failures = append(failures, checkFailure{"assetPaths",
			"assetPaths is not supported by this stand-in for pulumi-command 1.2.1 (e2e/tools/command-provider)"})
	}
	if args.ArchivePaths {
		failures = append(failures, checkFailure{"archivePaths",
			"archivePaths is not supported by this stand-in for pulumi-command 1.2.1 (e2e/tools/command-provider)"})
	}
	inputs, err := marshal(news)
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.CheckResponse{Inputs: inputs}
	for _, f := range failures {
		resp.Failures = append(resp.Failures, &pulumirpc.CheckFailure{Property: f.Property, Reason: f.Reason})
	}
	return resp, nil
}

// Diff answers as pulumi-go-provider v1.3.0's infer.diff for a resource with an Update method: old
// inputs (from the engine, or rebuilt from the state when the engine does not send them) against the
// new inputs; every change is an update except a change whose detailed-diff key is a property marked
// replaceOnChanges in the schema, which for v1.2.1 is "triggers" alone. A change inside the array
// (key "triggers[0]") is therefore an update at this level: the replace comes from the SDK, which
// registers every Command with replaceOnChanges ["triggers[*]"], applied by the engine.
func (p *commandProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	state, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	for _, ignored := range req.GetIgnoreChanges() {
		if v, ok := state[resource.PropertyKey(ignored)]; ok {
			news[resource.PropertyKey(ignored)] = v
		}
	}
	for k := range news {
		if k == "version" || strings.HasPrefix(string(k), "__") {
			delete(news, k)
		}
	}

	p.mu.Lock()
	supportsOldInputs := p.supportsOldInputs
	p.mu.Unlock()
	var oldInputs resource.PropertyMap
	if supportsOldInputs {
		if oldInputs, err = unmarshal(req.GetOldInputs()); err != nil {
			return nil, err
		}
	} else {
		oldInputs = resource.PropertyMap{}
		for _, k := range inputNames {
			if v, ok := state[resource.PropertyKey(k)]; ok {
				oldInputs[resource.PropertyKey(k)] = v
			} else {
				oldInputs[resource.PropertyKey(k)] = resource.NewNullProperty()
			}
		}
	}

	objDiff := oldInputs.Diff(news)
	detailed := plugin.NewDetailedDiffFromObjectDiff(objDiff, false)

	resp := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_NONE,
		HasDetailedDiff: true,
		DetailedDiff:    map[string]*pulumirpc.PropertyDiff{},
	}
	if objDiff.AnyChanges() {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	diffs, replaces := map[string]bool{}, map[string]bool{}
	for k, v := range detailed {
		if k == "triggers" { // schema: triggers is replaceOnChanges
			v.Kind = v.Kind.AsReplace()
		}
		resp.DetailedDiff[k] = &pulumirpc.PropertyDiff{Kind: rpcDiffKind(v.Kind), InputDiff: v.InputDiff}
		head := k
		if path, err := resource.ParsePropertyPath(k); err == nil && len(path) > 0 {
			if s, ok := path[0].(string); ok {
				head = s
			}
		}
		diffs[head] = true
		if v.Kind.IsReplace() {
			replaces[head] = true
		}
	}
	resp.Diffs = sortedKeys(diffs)
	resp.Replaces = sortedKeys(replaces)
	return resp, nil
}

func rpcDiffKind(k plugin.DiffKind) pulumirpc.PropertyDiff_Kind {
	switch k {
	case plugin.DiffAdd:
		return pulumirpc.PropertyDiff_ADD
	case plugin.DiffAddReplace:
		return pulumirpc.PropertyDiff_ADD_REPLACE
	case plugin.DiffDelete:
		return pulumirpc.PropertyDiff_DELETE
	case plugin.DiffDeleteReplace:
		return pulumirpc.PropertyDiff_DELETE_REPLACE
	case plugin.DiffUpdateReplace:
		return pulumirpc.PropertyDiff_UPDATE_REPLACE
	default:
		return pulumirpc.PropertyDiff_UPDATE
	}
}

// Create: v1.2.1 local/commandController.go Create. The ID is the resource name plus 8 random hex
// digits, also in a preview. In a preview nothing runs and stdout/stderr are unknown (the infer layer
// marks every output that does not mirror an input computed during a create preview). Without a
// `create` command nothing runs and stdout/stderr are "". The outputs are the inputs, as given
// (secrets stay where they were), plus stdout and stderr, which are never secret by themselves.
func (p *commandProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	ctx, done := p.operation(ctx, req.GetTimeout())
	defer done()

	props, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	st, failures := decodeArgs(props, false)
	if len(failures) > 0 {
		return nil, fmt.Errorf("invalid inputs: %w", failuresError(failures))
	}
	if err := unsupported(st.commandArgs); err != nil {
		return nil, err
	}
	urn := resource.URN(req.GetUrn())
	id, err := resource.NewUniqueHex(urn.Name(), 8, 0)
	if err != nil {
		return nil, err
	}

	outs := inputsOf(props)
	if req.GetPreview() {
		outs["stdout"] = resource.MakeComputed(resource.NewStringProperty(""))
		outs["stderr"] = resource.MakeComputed(resource.NewStringProperty(""))
	} else {
		stdout, stderr := "", ""
		if st.Create != nil {
			stdout, stderr, err = runCommand(ctx, *st.Create, st.commandArgs, "", "", p.logger(ctx, string(urn)))
			if err != nil {
				return nil, err
			}
		}
		outs["stdout"] = resource.NewStringProperty(stdout)
		outs["stderr"] = resource.NewStringProperty(stderr)
	}
	mouts, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: mouts}, nil
}

// Read returns the state as it is (the infer layer's default Read, v1.2.1 has no Read method).
func (p *commandProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	props, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	inputs, err := unmarshal(req.GetInputs())
	if err != nil {
		return nil, err
	}
	if _, failures := decodeArgs(props, true); len(failures) > 0 {
		return nil, failuresError(failures)
	}
	mprops, err := marshal(props)
	if err != nil {
		return nil, err
	}
	minputs, err := marshal(inputs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: mprops, Inputs: minputs}, nil
}

// Update: v1.2.1 local/commandController.go Update. It runs `update`, or `create` when there is no
// `update`, or nothing when neither is set; the previous stdout/stderr are the command's
// PULUMI_COMMAND_STDOUT/STDERR and stay the outputs when nothing runs. In a preview nothing runs, and
// stdout/stderr are unknown when any input is unknown or differs from its value in the old state
// (the infer layer's default computed-dependency flow: every output depends on every input).
func (p *commandProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	ctx, done := p.operation(ctx, req.GetTimeout())
	defer done()

	state, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	for _, ignored := range req.GetIgnoreChanges() {
		if v, ok := state[resource.PropertyKey(ignored)]; ok {
			news[resource.PropertyKey(ignored)] = v
		}
	}
	old, failures := decodeArgs(state, true)
	if len(failures) > 0 {
		return nil, failuresError(failures)
	}
	st, failures := decodeArgs(news, false)
	if len(failures) > 0 {
		return nil, failuresError(failures)
	}
	if err := unsupported(st.commandArgs); err != nil {
		return nil, err
	}

	outs := inputsOf(news)
	stdout, stderr := old.Stdout, old.Stderr
	if req.GetPreview() {
		outs["stdout"] = resource.NewStringProperty(stdout)
		outs["stderr"] = resource.NewStringProperty(stderr)
		if inputsChanged(state, news) {
			outs["stdout"] = resource.MakeComputed(outs["stdout"])
			outs["stderr"] = resource.MakeComputed(outs["stderr"])
		}
	} else {
		cmd := st.Create
		if st.Update != nil {
			cmd = st.Update
		}
		if cmd != nil {
			stdout, stderr, err = runCommand(ctx, *cmd, st.commandArgs, old.Stdout, old.Stderr,
				p.logger(ctx, req.GetUrn()))
			if err != nil {
				return nil, err
			}
		}
		outs["stdout"] = resource.NewStringProperty(stdout)
		outs["stderr"] = resource.NewStringProperty(stderr)
	}
	mouts, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: mouts}, nil
}

// inputsChanged is infer's markComputed test for an output during an update preview: some input
// property is unknown, or is in the old state with another value (a missing new input counts as null).
func inputsChanged(state, news resource.PropertyMap) bool {
	for _, name := range inputNames {
		k := resource.PropertyKey(name)
		nv, ok := news[k]
		if !ok {
			nv = resource.NewNullProperty()
		}
		if isComputed(nv) {
			return true
		}
		if ov, had := state[k]; had && !deepEquals(nv, ov) {
			return true
		}
	}
	return false
}

// Delete: v1.2.1 local/commandController.go Delete. It runs `delete` (if set) with the inputs stored
// in the state, and the stored stdout/stderr as PULUMI_COMMAND_STDOUT/STDERR.
func (p *commandProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	ctx, done := p.operation(ctx, req.GetTimeout())
	defer done()

	state, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	st, failures := decodeArgs(state, true)
	if len(failures) > 0 {
		return nil, failuresError(failures)
	}
	if st.Delete == nil {
		return &emptypb.Empty{}, nil
	}
	if _, _, err := runCommand(ctx, *st.Delete, st.commandArgs, st.Stdout, st.Stderr,
		p.logger(ctx, req.GetUrn())); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Cancel stops every operation under way and any started later (pulumi-go-provider middleware/cancel).
func (p *commandProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cancelled = true
	for id, cancel := range p.ops {
		cancel()
		delete(p.ops, id)
	}
	return &emptypb.Empty{}, nil
}

func (p *commandProvider) Attach(_ context.Context, req *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	host, err := newHostClient(req.GetAddress())
	if err != nil {
		return nil, err
	}
	p.setHost(host)
	return &emptypb.Empty{}, nil
}

func unsupported(a commandArgs) error {
	var errs []error
	if a.AssetPaths {
		errs = append(errs, errors.New("assetPaths is not supported by this stand-in for pulumi-command 1.2.1"))
	}
	if a.ArchivePaths {
		errs = append(errs, errors.New("archivePaths is not supported by this stand-in for pulumi-command 1.2.1"))
	}
	return errors.Join(errs...)
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Our stand-in nodejs language host (see main.go), written because the Go module proxy does not serve
// Pulumi's own pulumi-language-nodejs. This file: the resource monitor proxy that node talks to.
//
// As in Pulumi's host (proxy.go monitorProxy, read at v3.248.0; v3.276.0's monitor adds ExistsResource,
// passed on like the rest), every call goes to the engine's monitor
// unchanged, and RegisterResource carries the metadata header "pulumi-runtime: nodejs": the engine
// (pkg/resource/deploy/source_eval.go requestFromNodeJS) corrects the aliases of older Node.js SDKs
// only for requests so marked, since through a Go proxy node's own user agent does not reach it.
package main

import (
	"context"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type monitorProxy struct {
	pulumirpc.UnimplementedResourceMonitorServer

	target pulumirpc.ResourceMonitorClient
}

func (p *monitorProxy) GetDeploymentInfo(ctx context.Context, req *emptypb.Empty) (*pulumirpc.DeploymentInfo, error) {
	return p.target.GetDeploymentInfo(ctx, req)
}

func (p *monitorProxy) SupportsFeature(
	ctx context.Context, req *pulumirpc.SupportsFeatureRequest,
) (*pulumirpc.SupportsFeatureResponse, error) {
	return p.target.SupportsFeature(ctx, req)
}

func (p *monitorProxy) Invoke(
	ctx context.Context, req *pulumirpc.ResourceInvokeRequest,
) (*pulumirpc.ResourceInvokeResponse, error) {
	return p.target.Invoke(ctx, req)
}

func (p *monitorProxy) Call(ctx context.Context, req *pulumirpc.ResourceCallRequest) (*pulumirpc.CallResponse, error) {
	return p.target.Call(ctx, req)
}

func (p *monitorProxy) ReadResource(
	ctx context.Context, req *pulumirpc.ReadResourceRequest,
) (*pulumirpc.ReadResourceResponse, error) {
	return p.target.ReadResource(ctx, req)
}

func (p *monitorProxy) RegisterResource(
	ctx context.Context, req *pulumirpc.RegisterResourceRequest,
) (*pulumirpc.RegisterResourceResponse, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, "pulumi-runtime", "nodejs")
	return p.target.RegisterResource(ctx, req)
}

func (p *monitorProxy) RegisterResourceOutputs(
	ctx context.Context, req *pulumirpc.RegisterResourceOutputsRequest,
) (*emptypb.Empty, error) {
	return p.target.RegisterResourceOutputs(ctx, req)
}

func (p *monitorProxy) RegisterStackTransform(ctx context.Context, req *pulumirpc.Callback) (*emptypb.Empty, error) {
	return p.target.RegisterStackTransform(ctx, req)
}

func (p *monitorProxy) RegisterStackInvokeTransform(
	ctx context.Context, req *pulumirpc.Callback,
) (*emptypb.Empty, error) {
	return p.target.RegisterStackInvokeTransform(ctx, req)
}

func (p *monitorProxy) RegisterResourceHook(
	ctx context.Context, req *pulumirpc.RegisterResourceHookRequest,
) (*emptypb.Empty, error) {
	return p.target.RegisterResourceHook(ctx, req)
}

func (p *monitorProxy) RegisterErrorHook(
	ctx context.Context, req *pulumirpc.RegisterErrorHookRequest,
) (*emptypb.Empty, error) {
	return p.target.RegisterErrorHook(ctx, req)
}

func (p *monitorProxy) RegisterPackage(
	ctx context.Context, req *pulumirpc.RegisterPackageRequest,
) (*pulumirpc.RegisterPackageResponse, error) {
	return p.target.RegisterPackage(ctx, req)
}

func (p *monitorProxy) SignalAndWaitForShutdown(ctx context.Context, req *emptypb.Empty) (*emptypb.Empty, error) {
	return p.target.SignalAndWaitForShutdown(ctx, req)
}

func (p *monitorProxy) ExistsResource(
	ctx context.Context, req *pulumirpc.ExistsResourceRequest,
) (*pulumirpc.ExistsResourceResponse, error) {
	return p.target.ExistsResource(ctx, req)
}

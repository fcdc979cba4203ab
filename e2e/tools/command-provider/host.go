package main

import (
	"context"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// hostClient is the provider's line back to the engine: the pulumirpc.Engine service at the address the
// engine passed as the plugin's argument (or later through Attach). Only Log is used.
type hostClient struct {
	conn   *grpc.ClientConn
	engine pulumirpc.EngineClient
}

func newHostClient(addr string) (*hostClient, error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		rpcutil.GrpcChannelOptions(),
	)
	if err != nil {
		return nil, err
	}
	return &hostClient{conn: conn, engine: pulumirpc.NewEngineClient(conn)}, nil
}

func (h *hostClient) Close() error { return h.conn.Close() }

// logStatus sends an ephemeral info message about urn, as pulumi-go-provider's Logger.InfoStatus
// does through pkg/resource/provider.HostClient.LogStatus: it shows in the Info column of the
// progress display, not in the final output.
func (h *hostClient) logStatus(ctx context.Context, urn, msg string) error {
	_, err := h.engine.Log(ctx, &pulumirpc.LogRequest{
		Severity:  pulumirpc.LogSeverity_INFO,
		Message:   strings.ToValidUTF8(msg, "\uFFFD"),
		Urn:       urn,
		Ephemeral: true,
	})
	return err
}

package main

import (
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tickiti/tickiti/server"
)

func newServe() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the REST API and the gRPC services; migrates the schema first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			cfg := server.Config{Version: version, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
			cfg.DB, _ = f.GetString("db")
			cfg.HTTPAddr, _ = f.GetString("http-addr")
			cfg.GRPCAddr, _ = f.GetString("grpc-addr")
			cfg.MaxBody, _ = f.GetInt64("max-body")
			cfg.IdempotencyTTL, _ = f.GetDuration("idempotency-ttl")
			srv, err := server.New(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return srv.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.String("http-addr", envOr("TICKITI_HTTP_ADDR", ":8080"), "REST listen address (env TICKITI_HTTP_ADDR)")
	f.String("grpc-addr", envOr("TICKITI_GRPC_ADDR", ":9090"), "gRPC listen address (env TICKITI_GRPC_ADDR)")
	f.Int64("max-body", 1<<20, "largest REST request body in bytes")
	f.Duration("idempotency-ttl", 24*time.Hour, "how long Idempotency-Key answers are kept")
	return cmd
}

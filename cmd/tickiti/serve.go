package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tickiti/tickiti/server"
	"github.com/tickiti/tickiti/server/delivery"
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
			cfg.SecureCookies, _ = f.GetBool("secure-cookies")
			cfg.Command = cliName()
			cfg.Delivery.Schedule, _ = f.GetDurationSlice("retry-schedule")
			cfg.Delivery.Lease, _ = f.GetDuration("delivery-lease")
			cfg.Delivery.Poll, _ = f.GetDuration("delivery-poll")
			if err := checkSchedule(cfg.Delivery.Schedule); err != nil {
				return err
			}
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
	f.Bool("secure-cookies", os.Getenv("TICKITI_SECURE_COOKIES") == "true",
		"mark the console's session cookie Secure on plain-HTTP requests too: set it behind a TLS-terminating proxy "+
			"(requests over TLS always get a Secure cookie; env TICKITI_SECURE_COOKIES=true)")
	f.DurationSlice("retry-schedule", delivery.DefaultSchedule,
		"epilog attempt delays, each counted from the previous failure; their number is the number of attempts")
	f.Duration("delivery-lease", 30*time.Second,
		"how long past its remote timeout an epilog attempt holds its delivery; a crashed replica's work resumes after it")
	f.Duration("delivery-poll", 500*time.Millisecond, "how often the database is checked for due deliveries")
	return cmd
}

// checkSchedule refuses a retry schedule that cannot work.
func checkSchedule(s []time.Duration) error {
	if len(s) == 0 {
		return errors.New("--retry-schedule: give at least one delay, e.g. 0s")
	}
	for _, d := range s {
		if d < 0 {
			return fmt.Errorf("--retry-schedule: %s is negative", d)
		}
	}
	return nil
}

// cliName is how the operator ran this binary, for the hints the server
// logs: "./bin/tickiti" after `make run`, "tickiti" when that is not known
// (go run builds into a temporary folder).
func cliName() string {
	name := os.Args[0]
	if name == "" || strings.Contains(name, "go-build") {
		return "tickiti"
	}
	return name
}

package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/tickiti/tickiti/server"
	"github.com/tickiti/tickiti/server/dbtest"
)

// BenchmarkCreateTicket measures POST /api/create_ticket end to end: HTTP,
// the gateway, gRPC in memory, authentication, idempotency and the create
// transaction, on each database. Run with -cpu to vary concurrency.
func BenchmarkCreateTicket(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			url := "sqlite:" + b.TempDir() + "/bench.db"
			if backend == "postgres" {
				url = dbtest.PostgresURL(b)
			}
			db := dbtest.Open(b, url)
			_, createToken, _ := seed(b, db, "http://127.0.0.1:1/unused")
			srv, err := server.New(context.Background(), server.Config{
				DB: url, HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0",
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- srv.Run(ctx) }()
			defer func() { cancel(); <-done }()
			endpoint := "http://" + srv.HTTPAddr() + "/api/create_ticket"
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			var n atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					body := fmt.Sprintf(`{"originator_email_address":"c%d@example.com","intervention":"discount_request",`+
						`"uid":"bench-%d","data":{"data":{"currency":"GBP","order_price":100,"accept":false}}}`, i%100, i)
					req, _ := http.NewRequest("POST", endpoint, bytes.NewBufferString(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+createToken)
					req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-key-%d", i))
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}

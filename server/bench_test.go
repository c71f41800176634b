package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickiti/tickiti/ent/delivery"
	"github.com/tickiti/tickiti/server"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/store"
)

// benchEnv is a server on real listeners with the seed intervention,
// calling back a remote that confirms every decision with a final block.
type benchEnv struct {
	base                    string
	db                      *store.DB
	createToken, staffToken string
	client                  *http.Client
}

func newBenchEnv(b *testing.B, backend string) *benchEnv {
	url := "sqlite:" + b.TempDir() + "/bench.db"
	if backend == "postgres" {
		url = dbtest.PostgresURL(b)
	}
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		code, text := finalAnswer(0, call{body: body})
		w.WriteHeader(code)
		_, _ = io.WriteString(w, text)
	}))
	b.Cleanup(remote.Close)
	db := dbtest.Open(b, url)
	_, createToken, staffToken := seed(b, db, remote.URL)
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
	b.Cleanup(func() { cancel(); <-done })
	return &benchEnv{
		base: "http://" + srv.HTTPAddr(), db: db, createToken: createToken, staffToken: staffToken,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}
}

func (e *benchEnv) send(b *testing.B, method, path, token, key, body string, want int) {
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, _ := http.NewRequest(method, e.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Errorf("%s %s: status %d", method, path, resp.StatusCode)
	}
}

func (e *benchEnv) create(b *testing.B, i int64) {
	body := fmt.Sprintf(`{"originator_email_address":"c%d@example.com","intervention":"discount_request",`+
		`"uid":"bench-%d","data":{"data":{"currency":"GBP","order_price":100,"accept":false}}}`, i%100, i)
	e.send(b, "POST", "/api/create_ticket", e.createToken, fmt.Sprintf("bench-key-%d", i), body, http.StatusCreated)
}

var backends = []string{"sqlite", "postgres"}

// BenchmarkCreateTicket measures POST /api/create_ticket end to end: HTTP,
// the gateway, gRPC in memory, authentication, idempotency and the create
// transaction. Run with -cpu to vary concurrency.
func BenchmarkCreateTicket(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			e := newBenchEnv(b, backend)
			var n atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					e.create(b, n.Add(1))
				}
			})
		})
	}
}

// BenchmarkGetTicket measures the staff read of a ticket with its
// conversation and payload.
func BenchmarkGetTicket(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			e := newBenchEnv(b, backend)
			e.create(b, 1)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					e.send(b, "GET", "/api/v1/tickets/100001", e.staffToken, "", "", http.StatusOK)
				}
			})
		})
	}
}

// BenchmarkSubmitToCompletion measures the decision loop: staff submit, the
// dispatcher calls the remote, the final block is applied. Each op is one
// ticket submitted; the timer stops once every delivery is completed.
func BenchmarkSubmitToCompletion(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			e := newBenchEnv(b, backend)
			for i := range b.N {
				e.create(b, int64(i+1))
			}
			var n atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					number := 100000 + n.Add(1)
					e.send(b, "POST", fmt.Sprintf("/api/v1/tickets/%d/intervention:submit", number), e.staffToken, "",
						`{"data":{"order_price":"95","accept":true}}`, http.StatusOK)
				}
			})
			ctx := context.Background()
			for e.db.Delivery.Query().Where(delivery.StateEQ(delivery.StateCompleted)).CountX(ctx) < b.N {
				if n := e.db.Delivery.Query().Where(delivery.StateNotIn(delivery.StatePending, delivery.StateCompleted)).CountX(ctx); n > 0 {
					b.Fatalf("%d deliveries ended other than completed", n)
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
		})
	}
}

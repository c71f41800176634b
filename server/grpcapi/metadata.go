package grpcapi

import (
	"context"
	"net/http"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Metadata the handlers and the REST gateway exchange.
const (
	// HTTPStatusKey carries the HTTP status of a successful answer.
	HTTPStatusKey = "x-http-status"
	// ReplayedKey marks an idempotent replay (REST: Idempotent-Replayed).
	ReplayedKey = "idempotent-replayed"
	// IdempotencyKey carries the Idempotency-Key; IdempotencyKeyBin carries
	// one that is not printable ASCII (so that it can be refused clearly).
	IdempotencyKey    = "idempotency-key"
	IdempotencyKeyBin = "idempotency-key-bin"
)

// answerCreated makes the REST answer 201 Created.
func answerCreated(ctx context.Context) error {
	return grpc.SetHeader(ctx, metadata.Pairs(HTTPStatusKey, strconv.Itoa(http.StatusCreated)))
}

func first(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

package grpcapi

import (
	"context"
	"net/http"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/service"
)

// Response metadata the REST gateway turns into HTTP.
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

// Tickets implements tickiti.v1.TicketService on the service core.
type Tickets struct {
	v1.UnimplementedTicketServiceServer
	svc *service.Service
}

// NewTickets returns the TicketService.
func NewTickets(svc *service.Service) *Tickets { return &Tickets{svc: svc} }

// CreateTicket reads the idempotency key from metadata and reports a replay
// in the response header.
func (t *Tickets) CreateTicket(ctx context.Context, req *v1.CreateTicketRequest) (*v1.CreateTicketResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	key := first(md, IdempotencyKey)
	if key == "" {
		key = first(md, IdempotencyKeyBin)
	}
	resp, replayed, err := t.svc.CreateTicket(ctx, auth.From(ctx), key, req)
	if err != nil {
		return nil, err
	}
	header := metadata.Pairs(HTTPStatusKey, strconv.Itoa(http.StatusCreated))
	if replayed {
		header.Set(ReplayedKey, "true")
	}
	if err := grpc.SetHeader(ctx, header); err != nil {
		return nil, err
	}
	return resp, nil
}

// GetTicket returns a ticket.
func (t *Tickets) GetTicket(ctx context.Context, req *v1.GetTicketRequest) (*v1.Ticket, error) {
	return t.svc.GetTicket(ctx, req.GetTicketNumber())
}

// SubmitIntervention records a staff decision.
func (t *Tickets) SubmitIntervention(ctx context.Context, req *v1.SubmitInterventionRequest) (*v1.SubmitInterventionResponse, error) {
	return t.svc.SubmitIntervention(ctx, auth.From(ctx), req)
}

// ListTickets lists tickets for the work queue.
func (t *Tickets) ListTickets(ctx context.Context, req *v1.ListTicketsRequest) (*v1.ListTicketsResponse, error) {
	return t.svc.ListTickets(ctx, req)
}

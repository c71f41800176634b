package grpcapi

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/service"
)

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
	if replayed {
		if err := grpc.SetHeader(ctx, metadata.Pairs(ReplayedKey, "true")); err != nil {
			return nil, err
		}
	}
	return resp, answerCreated(ctx)
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

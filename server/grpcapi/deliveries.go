package grpcapi

import (
	"context"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/service"
)

// Deliveries implements tickiti.v1.DeliveryService on the service core.
type Deliveries struct {
	v1.UnimplementedDeliveryServiceServer
	svc *service.Service
}

// NewDeliveries returns the DeliveryService.
func NewDeliveries(svc *service.Service) *Deliveries { return &Deliveries{svc: svc} }

// ListTicketDeliveries lists a ticket's deliveries with their attempts.
func (d *Deliveries) ListTicketDeliveries(ctx context.Context, req *v1.ListTicketDeliveriesRequest) (*v1.ListTicketDeliveriesResponse, error) {
	return d.svc.ListTicketDeliveries(ctx, req.GetTicketNumber())
}

// ListDeliveries lists deliveries across tickets.
func (d *Deliveries) ListDeliveries(ctx context.Context, req *v1.ListDeliveriesRequest) (*v1.ListDeliveriesResponse, error) {
	return d.svc.ListDeliveries(ctx, req)
}

// RedeliverDelivery sends a failed or refused delivery again.
func (d *Deliveries) RedeliverDelivery(ctx context.Context, req *v1.RedeliverDeliveryRequest) (*v1.Delivery, error) {
	return d.svc.Redeliver(ctx, auth.From(ctx), req.GetTicketNumber(), req.GetId())
}

package service

import (
	"context"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/delivery"
	"github.com/tickiti/tickiti/ent/deliveryattempt"
	"github.com/tickiti/tickiti/ent/response"
	"github.com/tickiti/tickiti/ent/ticket"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/render"
)

// ticketID turns a ticket number into the id it was derived from.
func ticketID(number int64) (int, error) {
	if number <= NumberOffset || number > NumberOffset+1<<40 {
		return 0, apierr.New(apierr.NotFound, "Ticket %d not found.", number)
	}
	return int(number - NumberOffset), nil
}

// GetTicket returns a ticket with its responses and intervention payload.
func (s *Service) GetTicket(ctx context.Context, number int64) (*v1.Ticket, error) {
	t, err := s.loadTicket(ctx, number, false)
	if err != nil {
		return nil, err
	}
	return ticketProto(t)
}

// TicketWithDeliveries returns a ticket and every delivery of its
// submissions, newest first with their attempts, read in one snapshot so
// that the payload's status and the deliveries' states agree (a page
// showing both must never show a refused delivery beside a payload still
// "submitted").
func (s *Service) TicketWithDeliveries(ctx context.Context, number int64) (*v1.Ticket, []*v1.Delivery, error) {
	t, err := s.loadTicket(ctx, number, true)
	if err != nil {
		return nil, nil, err
	}
	out, err := ticketProto(t)
	if err != nil {
		return nil, nil, err
	}
	var ds []*v1.Delivery
	if pl := t.Edges.Payload; pl != nil {
		for _, d := range pl.Edges.Deliveries {
			d.Edges.Payload = pl
			ds = append(ds, deliveryDetail(d))
		}
	}
	return out, ds, nil
}

// loadTicket reads a ticket in one snapshot with its latest delivery, or
// with every delivery and its attempts when history is set.
func (s *Service) loadTicket(ctx context.Context, number int64, history bool) (*ent.Ticket, error) {
	id, err := ticketID(number)
	if err != nil {
		return nil, err
	}
	var t *ent.Ticket
	err = s.db.Read(ctx, func(c *ent.Client) (err error) {
		t, err = c.Ticket.Query().Where(ticket.ID(id)).
			WithQueue().WithContact().
			WithResponses(func(q *ent.ResponseQuery) {
				q.Order(ent.Asc(response.FieldCreatedAt), ent.Asc(response.FieldID)).WithAuthor()
			}).
			WithPayload(func(q *ent.PayloadQuery) {
				q.WithIntervention().WithDeliveries(func(q *ent.DeliveryQuery) {
					q.Order(ent.Desc(delivery.FieldID))
					if !history {
						q.Limit(1)
						return
					}
					q.WithAttemptLog(func(q *ent.DeliveryAttemptQuery) { q.Order(ent.Asc(deliveryattempt.FieldID)) })
				})
			}).
			Only(ctx)
		return err
	})
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.NotFound, "Ticket %d not found.", number)
	}
	if err != nil {
		return nil, s.internal("load ticket", err)
	}
	return t, nil
}

func ticketProto(t *ent.Ticket) (*v1.Ticket, error) {
	out := &v1.Ticket{
		Id: int64(t.ID), Number: TicketNumber(t.ID), Status: string(t.Status),
		Queue:      t.Edges.Queue.Name,
		Originator: &v1.Contact{EmailAddress: t.Edges.Contact.Email},
		CreateTime: timestamppb.New(t.CreatedAt), UpdateTime: timestamppb.New(t.UpdatedAt),
	}
	for _, r := range t.Edges.Responses {
		a := &v1.Author{Kind: "system", Name: r.AuthorName}
		if u := r.Edges.Author; u != nil {
			a = &v1.Author{Kind: "user", Name: r.AuthorName, Email: u.Email}
		}
		out.Responses = append(out.Responses, &v1.Response{
			Id: int64(r.ID), Internal: r.Internal, Author: a, Content: r.Content, Audit: r.Audit,
			CreateTime: timestamppb.New(r.CreatedAt),
		})
	}
	if p := t.Edges.Payload; p != nil {
		pp, err := payloadProto(t, p)
		if err != nil {
			return nil, err
		}
		out.Intervention = pp
	}
	return out, nil
}

func payloadProto(t *ent.Ticket, p *ent.Payload) (*v1.InterventionPayload, error) {
	iv := p.Edges.Intervention
	bag, err := decodeBag(p.Data)
	if err != nil {
		return nil, err
	}
	out := &v1.InterventionPayload{
		Name: iv.Name, Title: iv.Title, Uid: p.UID, Status: string(p.Status), Data: bag,
		RemoteReference: p.RemoteReference, RemoteMessage: p.RemoteMessage,
	}
	vars := renderContext(bag, map[string]any{"ticket_number": TicketNumber(t.ID), "uid": p.UID})
	for _, f := range iv.Fields {
		label, err := render.String(f.Label, vars)
		if err != nil {
			label = f.Label // a label that does not parse shows as written
		}
		val, ok := bag.GetFields()[f.Name]
		if !ok {
			// What the field holds until staff change it.
			if val = f.DefaultValue(); val == nil {
				val = structpb.NewNullValue()
			}
		}
		pf := &v1.PayloadField{
			Type: f.Type, Name: f.Name, Label: label, Value: val,
			Required: f.Required, Help: f.Help, Min: f.Min, Max: f.Max,
		}
		for _, o := range f.Options {
			pf.Options = append(pf.Options, &v1.PayloadFieldOption{Value: o.Value, Label: o.Label})
		}
		out.Fields = append(out.Fields, pf)
	}
	if ds := p.Edges.Deliveries; len(ds) > 0 {
		out.Delivery = deliveryProto(ds[0])
		out.Delivery.TicketNumber, out.Delivery.Intervention = TicketNumber(t.ID), iv.Name
	}
	return out, nil
}

func deliveryProto(d *ent.Delivery) *v1.Delivery {
	out := &v1.Delivery{
		Id: int64(d.ID), DeliveryId: d.DeliveryUID, ResponseId: int64(d.ResponseID), State: string(d.State),
		Attempts: int32(d.Attempts), LastError: d.LastError, CreateTime: timestamppb.New(d.CreatedAt),
		Redeliveries: int32(d.Redeliveries), UpdateTime: timestamppb.New(d.UpdatedAt),
	}
	if d.State == delivery.StatePending {
		out.NextAttemptTime = timestamppb.New(d.NextAttemptAt)
	}
	return out
}

package service

import (
	"context"
	"html"
	"sort"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/payload"
	"github.com/tickiti/tickiti/ent/ticket"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/restjson"
	"github.com/tickiti/tickiti/server/uifield"
)

// SubmitIntervention records a staff decision: the staff response that
// carries it, the edited data bag and, for remote-enabled interventions, the
// epilog delivery, in one transaction. The dispatcher is woken after commit.
func (s *Service) SubmitIntervention(ctx context.Context, p *auth.Principal, req *v1.SubmitInterventionRequest) (*v1.SubmitInterventionResponse, error) {
	id, err := ticketID(req.GetTicketNumber())
	if err != nil {
		return nil, err
	}
	t, err := s.db.Ticket.Query().Where(ticket.ID(id)).WithPayload(func(q *ent.PayloadQuery) { q.WithIntervention() }).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.NotFound, "Ticket %d not found.", req.GetTicketNumber())
	}
	if err != nil {
		return nil, s.internal("load ticket", err)
	}
	pl := t.Edges.Payload
	if pl == nil {
		return nil, apierr.New(apierr.Conflict, "Ticket %d has no intervention to submit.", req.GetTicketNumber())
	}
	if err := notOpen(pl.Status); err != nil {
		return nil, err
	}
	if strings.ContainsRune(req.GetContent(), 0) {
		return nil, apierr.Invalid("content", "The content must not contain the NUL character (\\u0000).")
	}
	iv := pl.Edges.Intervention
	bag, err := decodeBag(pl.Data)
	if err != nil {
		return nil, s.internal("read data bag", err)
	}
	edited, err := mergeBag(iv.Fields, bag, req.GetData())
	if err != nil {
		return nil, err
	}
	raw, err := encodeBag(edited)
	if err != nil {
		return nil, s.internal("encode data bag", err)
	}
	status := payload.StatusSubmitted
	if !iv.RemoteEnabled {
		// No remote to confirm: the staff decision is the end of it.
		status = payload.StatusCompleted
	}

	out := &v1.SubmitInterventionResponse{Status: string(status)}
	err = s.db.Tx(ctx, func(tx *ent.Tx) error {
		// The status condition makes two concurrent submissions safe: only
		// one of them moves the payload out of "open".
		n, err := tx.Payload.Update().Where(payload.ID(pl.ID), payload.StatusEQ(payload.StatusOpen)).
			SetStatus(status).SetData(raw).SetRemoteMessage("").Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return apierr.New(apierr.Conflict, "The intervention on ticket %d was already submitted.", req.GetTicketNumber())
		}
		rc := tx.Response.Create().SetTicketID(t.ID).SetInternal(true).
			SetContent(html.EscapeString(strings.TrimSpace(req.GetContent()))).SetAuthorName(p.AuthorName())
		if p.UserID != nil {
			rc.SetAuthorID(*p.UserID)
		}
		r, err := rc.Save(ctx)
		if err != nil {
			return err
		}
		out.ResponseId = int64(r.ID)
		if !iv.RemoteEnabled {
			return nil
		}
		body, err := restjson.Marshal(&v1.EpilogRequest{
			TicketId: int64(t.ID), ResponseId: int64(r.ID), Uid: pl.UID, Intervention: iv.Name,
			Action: "submit", Data: edited,
		})
		if err != nil {
			return err
		}
		d, err := tx.Delivery.Create().SetPayloadID(pl.ID).SetResponseID(r.ID).SetDeliveryUID(newDeliveryUID()).
			SetBody(body).SetNextAttemptAt(s.now()).Save(ctx)
		if err != nil {
			return err
		}
		out.Delivery = deliveryProto(d)
		out.Delivery.TicketNumber, out.Delivery.Intervention = TicketNumber(t.ID), iv.Name
		return nil
	})
	if err != nil {
		return nil, s.internal("submit intervention", err)
	}
	if out.Delivery != nil {
		s.wakeDispatcher()
	}
	return out, nil
}

func notOpen(st payload.Status) error {
	switch st {
	case payload.StatusOpen:
		return nil
	case payload.StatusSubmitted:
		return apierr.New(apierr.Conflict, "The intervention was already submitted and is being delivered to the remote system.")
	default:
		return apierr.New(apierr.Conflict, "The intervention is already %s; it cannot be submitted again.", st)
	}
}

// newDeliveryUID is the id the remote de-duplicates on ("msg_" + UUIDv4, the
// Standard Webhooks style).
func newDeliveryUID() string { return "msg_" + strings.ReplaceAll(uuid.NewString(), "-", "") }

// mergeBag applies staff edits to a copy of the data bag and checks the
// result against the fields. A value keeps the JSON type the remote gave it
// (uifield.Coerce): a number edited as text goes back as a number while it
// still parses as one. A field the bag has no value for takes its default,
// which is what staff saw. Keys that are neither a field nor in the bag are
// refused.
func mergeBag(fields []uifield.Field, bag, edits *structpb.Struct) (*structpb.Struct, error) {
	out := proto.Clone(bag).(*structpb.Struct)
	if out.Fields == nil {
		out.Fields = map[string]*structpb.Value{}
	}
	byName := make(map[string]uifield.Field, len(fields))
	for _, f := range fields {
		byName[f.Name] = f
	}
	keys := make([]string, 0, len(edits.GetFields()))
	for k := range edits.GetFields() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var v apierr.Validation
	checkStorable(&v, edits, "data")
	for _, k := range keys {
		val := edits.GetFields()[k]
		old, inBag := bag.GetFields()[k]
		f, isField := byName[k]
		if !isField && !inBag {
			v.Add("data."+k, "There is no field or data-bag key named %q.", k)
			continue
		}
		if isField {
			val = uifield.Coerce(f, old, val)
		}
		out.Fields[k] = val
	}
	for _, f := range fields {
		if _, ok := out.Fields[f.Name]; !ok {
			if d := f.DefaultValue(); d != nil {
				out.Fields[f.Name] = d
			}
		}
	}
	checkBag(&v, fields, out, "data.", true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

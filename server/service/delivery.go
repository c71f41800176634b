package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/delivery"
	"github.com/tickiti/tickiti/ent/deliveryattempt"
	"github.com/tickiti/tickiti/ent/payload"
	"github.com/tickiti/tickiti/ent/schema"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/pkg/webhook"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
)

// Attempt is what the dispatcher observed of one epilog call; it is stored
// as a DeliveryAttempt row with the delivery's state change.
type Attempt struct {
	Start    time.Time
	Duration time.Duration
	// Status is the HTTP status, 0 when no answer arrived.
	Status int
	// Err says what went wrong; empty on success.
	Err string
	// Body is the start of the answer; Truncated says there was more.
	Body      []byte
	Truncated bool
	Outcome   deliveryattempt.Outcome
}

// maxStoredBody bounds the answer body kept with an attempt: enough to see
// what a proxy or framework answered, small enough to keep thousands.
const maxStoredBody = 2 << 10

// create adds the attempt row for delivery id inside tx.
func (a Attempt) create(ctx context.Context, tx *ent.Tx, id int) error {
	body, truncated := a.Body, a.Truncated
	if len(body) > maxStoredBody {
		body, truncated = body[:maxStoredBody], true
	}
	// PostgreSQL text holds valid UTF-8 without NUL; an answer may be
	// anything.
	text := strings.ReplaceAll(strings.ToValidUTF8(string(body), "\uFFFD"), "\x00", "\uFFFD")
	return tx.DeliveryAttempt.Create().SetDeliveryID(id).SetStartedAt(a.Start).
		SetDurationMs(a.Duration.Milliseconds()).SetHTTPStatus(a.Status).SetError(a.Err).
		SetResponseBody(text).SetResponseBodyTruncated(truncated).SetOutcome(a.Outcome).Exec(ctx)
}

// RecordFailure records a failed attempt of a delivery held under
// leaseToken: the delivery stays pending until retryAt, or fails when
// retryAt is zero. The attempt row and the state change are one
// transaction; ErrLeaseLost means another dispatcher holds the delivery now
// and nothing was written.
func (s *Service) RecordFailure(ctx context.Context, deliveryID int, leaseToken string, a Attempt, retryAt time.Time) error {
	return s.db.Tx(ctx, func(tx *ent.Tx) error {
		upd := tx.Delivery.Update().
			Where(delivery.ID(deliveryID), delivery.LeaseToken(leaseToken), delivery.StateEQ(delivery.StatePending)).
			AddAttempts(1).ClearLeaseUntil().SetLeaseToken("").SetLastError(a.Err)
		if retryAt.IsZero() {
			upd.SetState(delivery.StateFailed)
		} else {
			upd.SetNextAttemptAt(retryAt)
		}
		n, err := upd.Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrLeaseLost
		}
		return a.create(ctx, tx, deliveryID)
	})
}

// RecordInterrupted records that the previous holder of a delivery's lease
// stopped mid-attempt (its lease expired without an outcome). It does not
// count as an attempt of the schedule: a crash of Tickiti is not the
// remote's failure.
func (s *Service) RecordInterrupted(ctx context.Context, deliveryID int, leaseToken string) error {
	return s.db.Tx(ctx, func(tx *ent.Tx) error {
		n, err := tx.Delivery.Update().Where(delivery.ID(deliveryID), delivery.LeaseToken(leaseToken)).
			SetLastError(interruptedText).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrLeaseLost
		}
		return Attempt{Start: s.now(), Err: interruptedText, Outcome: deliveryattempt.OutcomeInterrupted}.create(ctx, tx, deliveryID)
	})
}

const interruptedText = "The Tickiti process making an attempt stopped before recording its outcome " +
	"(found when its lease expired); the remote may or may not have received that call."

// SigningSecrets are the secrets an epilog call of iv is signed with at
// now: the current one and, during a rotation's overlap, the previous one.
func SigningSecrets(iv *ent.Intervention, now time.Time) []string {
	if iv.SigningSecret == "" {
		return nil
	}
	out := []string{iv.SigningSecret}
	if iv.PreviousSigningSecret != "" && iv.PreviousExpiresAt != nil && now.Before(*iv.PreviousExpiresAt) {
		out = append(out, iv.PreviousSigningSecret)
	}
	return out
}

// RotateSigningSecret gives the intervention a new signing secret and
// returns it; it is shown this once. With overlap > 0 the current secret
// keeps signing beside the new one for that long, so the remote can switch
// without rejecting calls; with 0 it stops at once. An intervention without
// a secret gets its first one, and its calls are signed from then on.
func (s *Service) RotateSigningSecret(ctx context.Context, p *auth.Principal, name string, overlap time.Duration) (string, error) {
	if overlap < 0 {
		return "", apierr.Invalid("overlap", "The overlap must not be negative.")
	}
	secret := webhook.NewSecret()
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		// Locked, so two rotations at once run one after the other: the
		// second keeps the first's secret as the previous one.
		iv, err := s.lockIntervention(ctx, tx.Intervention.Query(), name)
		if err != nil {
			return err
		}
		upd := tx.Intervention.UpdateOneID(iv.ID).SetSigningSecret(secret)
		kept := overlap > 0 && iv.SigningSecret != ""
		if kept {
			upd.SetPreviousSigningSecret(iv.SigningSecret).SetPreviousExpiresAt(s.now().Add(overlap))
		} else {
			upd.SetPreviousSigningSecret("").ClearPreviousExpiresAt()
		}
		if err := upd.Exec(ctx); err != nil {
			return err
		}
		change := schema.AuditChange{Field: "signing_secret", Old: redacted(iv.SigningSecret), New: Redacted}
		overlapChange := schema.AuditChange{Field: "previous_signing_secret_kept_for", New: overlap.String()}
		if !kept {
			overlapChange.New = "0s"
		}
		return audit(ctx, tx, p, resIntervention, name, "rotate_signing_secret", change, overlapChange)
	})
	if err != nil {
		return "", s.internal("rotate signing secret", err)
	}
	s.log.Info("signing secret rotated", "intervention", name, "overlap", overlap)
	return secret, nil
}

// ListTicketDeliveries returns the deliveries of a ticket's submissions,
// newest first, each with its attempts, oldest first. It reads them with the
// ticket, in one snapshot (see TicketWithDeliveries).
func (s *Service) ListTicketDeliveries(ctx context.Context, number int64) (*v1.ListTicketDeliveriesResponse, error) {
	_, ds, err := s.TicketWithDeliveries(ctx, number)
	if err != nil {
		return nil, err
	}
	return &v1.ListTicketDeliveriesResponse{Deliveries: ds}, nil
}

// ListDeliveries lists deliveries across tickets, newest first, optionally
// in one state, a page at a time (AIP-158).
func (s *Service) ListDeliveries(ctx context.Context, req *v1.ListDeliveriesRequest) (*v1.ListDeliveriesResponse, error) {
	state := req.GetState()
	if state != "" {
		if err := delivery.StateValidator(delivery.State(state)); err != nil {
			return nil, apierr.Invalid("state", "The state must be pending, delivered, completed, refused or failed.")
		}
	}
	page, err := ParsePage(req.GetPageSize(), req.GetPageToken(), "deliveries;state="+state)
	if err != nil {
		return nil, err
	}
	q := s.db.Delivery.Query()
	if state != "" {
		q.Where(delivery.StateEQ(delivery.State(state)))
	}
	if page.After > 0 {
		q.Where(delivery.IDLT(page.After))
	}
	ds, err := q.Order(ent.Desc(delivery.FieldID)).Limit(page.Size + 1).
		WithPayload(func(q *ent.PayloadQuery) { q.WithIntervention() }).All(ctx)
	if err != nil {
		return nil, s.internal("list deliveries", err)
	}
	out := &v1.ListDeliveriesResponse{}
	ds, out.NextPageToken = pageOf(page, ds, func(d *ent.Delivery) int { return d.ID })
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, deliveryDetail(d))
	}
	return out, nil
}

// Redeliver sends a failed or refused delivery again, under the same
// delivery id and with the same body: it becomes pending with a fresh
// attempt schedule.
//
// Only the latest delivery of a payload can be redelivered: an older one
// carries a decision staff have since replaced. A refused delivery gave the
// decision back to staff (the payload is open again); redelivering it
// re-sends that same decision and takes the payload back to submitted, so
// staff cannot submit another while it is on its way. A failed delivery
// left the payload submitted, and it stays so.
func (s *Service) Redeliver(ctx context.Context, p *auth.Principal, number, id int64) (*v1.Delivery, error) {
	tid, err := ticketID(number)
	if err != nil {
		return nil, err
	}
	d, err := s.db.Delivery.Query().Where(delivery.ID(int(id)), delivery.HasPayloadWith(payload.TicketID(tid))).
		WithPayload().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.NotFound, "Delivery %d of ticket %d not found.", id, number)
	}
	if err != nil {
		return nil, s.internal("load delivery", err)
	}
	if d.State != delivery.StateFailed && d.State != delivery.StateRefused {
		return nil, apierr.New(apierr.Conflict, "Only a failed or refused delivery can be redelivered; delivery %d is %s.", id, d.State)
	}
	newer, err := s.db.Delivery.Query().Where(delivery.PayloadID(d.PayloadID), delivery.IDGT(d.ID)).Exist(ctx)
	if err != nil {
		return nil, s.internal("load delivery", err)
	}
	if newer {
		return nil, apierr.New(apierr.Conflict, "Delivery %d carries a decision that a newer submission replaced; only the latest delivery can be redelivered.", id)
	}
	err = s.db.Tx(ctx, func(tx *ent.Tx) error {
		// Conditional on the state read: of two redeliveries at once, one wins.
		n, err := tx.Delivery.Update().Where(delivery.ID(d.ID), delivery.StateEQ(d.State)).
			SetState(delivery.StatePending).SetAttempts(0).SetNextAttemptAt(s.now()).
			ClearLeaseUntil().SetLeaseToken("").SetLastError("").AddRedeliveries(1).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return apierr.New(apierr.Conflict, "Delivery %d changed meanwhile; reload and try again.", id)
		}
		if d.State != delivery.StateRefused {
			return nil
		}
		n, err = tx.Payload.Update().Where(payload.ID(d.PayloadID), payload.StatusEQ(payload.StatusOpen)).
			SetStatus(payload.StatusSubmitted).SetRemoteMessage("").Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return apierr.New(apierr.Conflict, "The intervention on ticket %d is no longer waiting for staff (it is %s); its refused delivery cannot be sent again.",
				number, d.Edges.Payload.Status)
		}
		return nil
	})
	if err != nil {
		return nil, s.internal("redeliver", err)
	}
	s.log.Info("delivery redelivered by hand", "delivery", d.DeliveryUID, "ticket_number", number, "was", d.State, "by", p.AuthorName())
	s.wakeDispatcher()
	out, err := s.ListTicketDeliveries(ctx, number)
	if err != nil {
		return nil, err
	}
	for _, o := range out.Deliveries {
		if o.Id == id {
			return o, nil
		}
	}
	return nil, s.internal("reload delivery", fmt.Errorf("delivery %d vanished", id))
}

// deliveryDetail is deliveryProto with what needs the payload (loaded with
// its intervention) and the attempt log, when loaded.
func deliveryDetail(d *ent.Delivery) *v1.Delivery {
	out := deliveryProto(d)
	if pl := d.Edges.Payload; pl != nil {
		out.TicketNumber = TicketNumber(pl.TicketID)
		if iv := pl.Edges.Intervention; iv != nil {
			out.Intervention = iv.Name
		}
	}
	for _, a := range d.Edges.AttemptLog {
		out.AttemptLog = append(out.AttemptLog, &v1.DeliveryAttempt{
			Id: int64(a.ID), StartTime: timestamppb.New(a.StartedAt),
			Duration:   durationpb.New(time.Duration(a.DurationMs) * time.Millisecond),
			HttpStatus: int32(a.HTTPStatus), Error: a.Error, ResponseBody: a.ResponseBody,
			ResponseBodyTruncated: a.ResponseBodyTruncated, Outcome: string(a.Outcome),
		})
	}
	return out
}

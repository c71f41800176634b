package service

import (
	"context"
	"errors"
	"fmt"
	"html"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/delivery"
	"github.com/tickiti/tickiti/ent/deliveryattempt"
	"github.com/tickiti/tickiti/ent/payload"
	enttemplate "github.com/tickiti/tickiti/ent/template"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/render"
)

// ErrLeaseLost means the delivery was no longer held by the caller's lease:
// another dispatcher took it over, so this outcome is not recorded.
var ErrLeaseLost = errors.New("delivery lease lost")

// ApplyAnswer records the remote's answer to an epilog call, the attempt
// that got it (a, whose Outcome and Err it fills in) and its effects, in one
// transaction:
//   - ok false: the delivery is refused and the payload goes back to staff
//     with the remote's message;
//   - ok true: the delivery is delivered; with a matching final block the
//     payload is completed, the audit text appended to the staff response,
//     the remote reference kept and "<name>.final" rendered as a public
//     response. A final that does not match the call is not applied; the
//     mismatch is recorded for staff. Applying a final twice changes nothing.
func (s *Service) ApplyAnswer(ctx context.Context, deliveryID int, leaseToken string, ans *v1.EpilogResponse, a Attempt) (delivery.State, error) {
	var state delivery.State
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		d, err := tx.Delivery.Query().Where(delivery.ID(deliveryID)).
			WithPayload(func(q *ent.PayloadQuery) { q.WithIntervention() }).Only(ctx)
		if err != nil {
			return err
		}
		pl := d.Edges.Payload
		iv := pl.Edges.Intervention
		note := ""
		switch {
		case !ans.GetOk():
			state = delivery.StateRefused
			note = ans.GetMessage()
			if note == "" {
				note = "The remote system refused the decision without a message."
			}
		case ans.GetFinal() == nil:
			state = delivery.StateDelivered
		default:
			if note = finalMismatch(d, pl, iv, ans); note == "" {
				state = delivery.StateCompleted
			} else {
				state = delivery.StateDelivered
			}
		}
		n, err := tx.Delivery.Update().
			Where(delivery.ID(d.ID), delivery.LeaseToken(leaseToken), delivery.StateEQ(delivery.StatePending)).
			SetState(state).AddAttempts(1).ClearLeaseUntil().SetLeaseToken("").SetLastError(note).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrLeaseLost
		}
		a.Outcome, a.Err = deliveryattempt.OutcomeSuccess, note
		if state == delivery.StateRefused {
			a.Outcome = deliveryattempt.OutcomeRefused
		}
		if err := a.create(ctx, tx, d.ID); err != nil {
			return err
		}
		switch state {
		case delivery.StateRefused:
			// Back to staff, unless a newer submission moved on meanwhile.
			return tx.Payload.Update().Where(payload.ID(pl.ID), payload.StatusEQ(payload.StatusSubmitted)).
				SetStatus(payload.StatusOpen).SetRemoteMessage(note).Exec(ctx)
		case delivery.StateDelivered:
			return tx.Payload.Update().Where(payload.ID(pl.ID), payload.StatusEQ(payload.StatusSubmitted)).
				SetStatus(payload.StatusDelivered).SetRemoteMessage(note).Exec(ctx)
		default:
			return s.applyFinal(ctx, tx, d, pl, iv, ans.GetFinal())
		}
	})
	return state, err
}

// finalMismatch explains why a final block does not belong to this call, or
// returns "".
func finalMismatch(d *ent.Delivery, pl *ent.Payload, iv *ent.Intervention, ans *v1.EpilogResponse) string {
	f := ans.GetFinal()
	switch {
	case f.GetResponseId() != int64(d.ResponseID):
		return fmt.Sprintf("The remote's final block was not applied: its response_id %d does not match the submission's %d.", f.GetResponseId(), d.ResponseID)
	case ans.TicketId != nil && ans.GetTicketId() != int64(pl.TicketID):
		return fmt.Sprintf("The remote's final block was not applied: its ticket_id %d does not match %d.", ans.GetTicketId(), pl.TicketID)
	case ans.Uid != nil && ans.GetUid() != pl.UID:
		return fmt.Sprintf("The remote's final block was not applied: its uid %q does not match %q.", ans.GetUid(), pl.UID)
	case ans.Intervention != nil && ans.GetIntervention() != iv.Name:
		return fmt.Sprintf("The remote's final block was not applied: its intervention %q does not match %q.", ans.GetIntervention(), iv.Name)
	}
	return ""
}

func (s *Service) applyFinal(ctx context.Context, tx *ent.Tx, d *ent.Delivery, pl *ent.Payload, iv *ent.Intervention, f *v1.EpilogFinal) error {
	// Only the first final completes the payload; a redelivery or a retried
	// answer finds it completed and changes nothing.
	n, err := tx.Payload.Update().Where(payload.ID(pl.ID), payload.StatusNEQ(payload.StatusCompleted)).
		SetStatus(payload.StatusCompleted).SetRemoteReference(f.GetRemoteReference()).SetRemoteMessage("").Save(ctx)
	if err != nil || n == 0 {
		return err
	}
	if audit := f.GetTicketAudit(); audit != "" {
		r, err := tx.Response.Get(ctx, d.ResponseID)
		if err != nil {
			return err
		}
		text := html.EscapeString(audit)
		if r.Audit != "" {
			text = r.Audit + "\n" + text
		}
		if err := tx.Response.UpdateOneID(r.ID).SetAudit(text).Exec(ctx); err != nil {
			return err
		}
	}
	body, err := tx.Template.Query().Where(enttemplate.Identifier(iv.Name + ".final")).Only(ctx)
	if ent.IsNotFound(err) {
		return nil // .final is optional
	}
	if err != nil {
		return err
	}
	bag, err := decodeBag(pl.Data)
	if err != nil {
		return err
	}
	vars := ticketVars(pl.TicketID, pl.UID, iv.Name)
	vars["ticket_audit"], vars["remote_reference"] = f.GetTicketAudit(), f.GetRemoteReference()
	text, err := render.String(body.Body, renderContext(bag, vars))
	if err != nil {
		// Saved templates parse; keep the completion and say what failed.
		s.log.Error("render final template", "intervention", iv.Name, "err", err)
		return nil
	}
	return tx.Response.Create().SetTicketID(pl.TicketID).SetInternal(false).SetContent(text).
		SetAuthorName(auth.SystemName).Exec(ctx)
}

package service

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/structpb"

	"entgo.io/ent/dialect"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/contact"
	"github.com/tickiti/tickiti/ent/intervention"
	"github.com/tickiti/tickiti/ent/payload"
	"github.com/tickiti/tickiti/ent/template"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/render"
	"github.com/tickiti/tickiti/server/settings"
	"github.com/tickiti/tickiti/server/uifield"
)

// NumberOffset makes ticket numbers from ids: the first ticket is 100001.
const NumberOffset = 100000

// TicketNumber is the human-facing number of ticket id.
func TicketNumber(id int) int64 { return int64(id) + NumberOffset }

// CreateTicket opens a ticket for an intervention, as the remote system asks
// through POST /api/create_ticket. idemKey is the Idempotency-Key; replayed
// is true when the answer is the stored answer of an earlier request.
func (s *Service) CreateTicket(ctx context.Context, p *auth.Principal, idemKey string, req *v1.CreateTicketRequest) (resp *v1.CreateTicketResponse, replayed bool, err error) {
	key, err := ParseIdempotencyKey(idemKey)
	if err != nil {
		return nil, false, err
	}
	if err := validateCreate(req); err != nil {
		return nil, false, err
	}
	claim, stored, err := s.claimKey(ctx, p.TokenID, key, req)
	if err != nil || stored != nil {
		return stored, stored != nil, err
	}
	resp, err = s.createTicket(ctx, req, claim)
	if err != nil {
		// Nothing was created: free the key so a corrected retry can use it.
		s.releaseKey(claim)
		return nil, false, err
	}
	return resp, false, nil
}

// validateCreate checks what needs no database.
func validateCreate(req *v1.CreateTicketRequest) error {
	var v apierr.Validation
	email := strings.TrimSpace(req.GetOriginatorEmailAddress())
	switch {
	case email == "":
		v.Add("originator_email_address", "The originator email address field is required.")
	case !uifield.ValidEmail(email):
		v.Add("originator_email_address", "The originator email address field must be a valid email address.")
	}
	if req.GetIntervention() == "" {
		v.Add("intervention", "The intervention field is required.")
	}
	switch uid := req.GetUid(); {
	case uid == "":
		v.Add("uid", "The uid field is required.")
	case utf8.RuneCountInString(uid) > 255:
		v.Add("uid", "The uid field must not be greater than 255 characters.")
	case !utf8.ValidString(uid):
		v.Add("uid", "The uid field must be valid UTF-8.")
	case strings.ContainsRune(uid, 0):
		v.Add("uid", "The uid field must not contain the NUL character (\\u0000).")
	}
	switch {
	case req.GetData() == nil:
		v.Add("data", "The data field is required.")
	case req.GetData().GetData() == nil:
		v.Add("data.data", "The data.data field is required and must be an object.")
	default:
		checkStorable(&v, req.GetData().GetData(), "data.data")
	}
	return v.Err()
}

// createTicket does the work in one transaction and completes the key claim
// in the same transaction, so the stored answer and the ticket land together.
func (s *Service) createTicket(ctx context.Context, req *v1.CreateTicketRequest, claim *keyClaim) (*v1.CreateTicketResponse, error) {
	noSuch := apierr.Invalid("intervention", "The selected intervention is invalid: no enabled intervention is named %q.", req.GetIntervention())
	if settings.CheckInterventionName(req.GetIntervention()) != "" {
		return nil, noSuch // no intervention can have the name: no need to ask the database
	}
	bag := req.GetData().GetData()
	raw, err := encodeBag(bag)
	if err != nil {
		return nil, s.internal("encode data bag", err)
	}
	email := normalEmail(req.GetOriginatorEmailAddress())

	var resp *v1.CreateTicketResponse
	var ivID int
	err = s.db.Tx(ctx, func(tx *ent.Tx) error {
		// Read in the transaction, and on PostgreSQL under a share lock:
		// disabling, deleting or moving the intervention, and deleting its
		// .private template, lock the row for update, so they wait for the
		// ticket rather than change what it is checked against.
		q := tx.Intervention.Query().Where(intervention.Name(req.GetIntervention()))
		if s.db.Dialect == dialect.Postgres {
			q.ForShare()
		}
		iv, err := q.Only(ctx)
		if ent.IsNotFound(err) || (err == nil && !iv.Enabled) {
			return noSuch
		}
		if err != nil {
			return err
		}
		ivID = iv.ID
		var fieldErrs apierr.Validation
		checkBag(&fieldErrs, iv.Fields, bag, "data.data.", false)
		if err := fieldErrs.Err(); err != nil {
			return err
		}
		tmpls, err := templates(ctx, tx.Template, iv.Name, "private", "public")
		if err != nil {
			return err
		}
		if tmpls["private"] == "" {
			return apierr.Invalid("intervention", "The intervention %q cannot be used: its template %s.private is missing.", iv.Name, iv.Name)
		}
		contactID, err := ensureContact(ctx, tx, email)
		if err != nil {
			return err
		}
		t, err := tx.Ticket.Create().SetQueueID(iv.QueueID).SetContactID(contactID).Save(ctx)
		if err != nil {
			return err
		}
		err = tx.Payload.Create().SetTicketID(t.ID).SetInterventionID(iv.ID).SetUID(req.GetUid()).SetData(raw).Exec(ctx)
		if err != nil {
			return err
		}
		vars := ticketVars(t.ID, req.GetUid(), iv.Name)
		vars["originator_email_address"] = email
		vars = renderContext(bag, vars)
		notes := []*ent.ResponseCreate{}
		for _, kind := range []string{"private", "public"} {
			if tmpls[kind] == "" {
				continue
			}
			text, err := render.String(tmpls[kind], vars)
			if err != nil {
				return apierr.Invalid("intervention", "The template %s.%s does not render: %v", iv.Name, kind, err)
			}
			notes = append(notes, tx.Response.Create().SetTicketID(t.ID).SetInternal(kind == "private").
				SetContent(text).SetAuthorName(auth.SystemName))
		}
		if err := tx.Response.CreateBulk(notes...).Exec(ctx); err != nil {
			return err
		}
		resp = &v1.CreateTicketResponse{
			TicketId: int64(t.ID), TicketNumber: TicketNumber(t.ID),
			Intervention: iv.Name, Uid: req.GetUid(), Status: string(t.Status),
		}
		return claim.complete(ctx, tx, resp)
	})
	if ent.IsConstraintError(err) {
		if conflict := s.uidConflict(ctx, ivID, req.GetUid()); conflict != nil {
			return nil, conflict
		}
	}
	if err != nil {
		return nil, s.internal("create ticket", err)
	}
	return resp, nil
}

// ensureContact finds or creates the contact; the insert ignores a
// concurrent creation of the same address.
func ensureContact(ctx context.Context, tx *ent.Tx, email string) (int, error) {
	id, err := tx.Contact.Query().Where(contact.Email(email)).OnlyID(ctx)
	if !ent.IsNotFound(err) {
		return id, err
	}
	err = tx.Contact.Create().SetEmail(email).OnConflictColumns(contact.FieldEmail).DoNothing().Exec(ctx)
	// On PostgreSQL ent inserts with RETURNING id, so a row skipped as a
	// duplicate comes back as "no rows": another request created it first.
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	return tx.Contact.Query().Where(contact.Email(email)).OnlyID(ctx)
}

// uidConflict is the 409 for a uid that already has a payload, or nil.
func (s *Service) uidConflict(ctx context.Context, interventionID int, uid string) error {
	existing, err := s.db.Payload.Query().Where(payload.InterventionID(interventionID), payload.UID(uid)).Only(ctx)
	if err != nil {
		return nil
	}
	e := apierr.New(apierr.UIDConflict, "The uid %q already has a ticket for this intervention: ticket %d.", uid, TicketNumber(existing.TicketID))
	e.Fields = map[string][]string{"uid": {"The uid has already been taken."}}
	e.Metadata = map[string]string{
		"ticket_id":     apierr.Int(int64(existing.TicketID)),
		"ticket_number": apierr.Int(TicketNumber(existing.TicketID)),
	}
	return e
}

// templates loads "<name>.<kind>" bodies in one query; missing ones are "".
func templates(ctx context.Context, c *ent.TemplateClient, name string, kinds ...string) (map[string]string, error) {
	ids := make([]string, len(kinds))
	for i, k := range kinds {
		ids[i] = name + "." + k
	}
	rows, err := c.Query().Where(template.IdentifierIn(ids...)).All(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(kinds))
	for _, r := range rows {
		out[strings.TrimPrefix(r.Identifier, name+".")] = r.Body
	}
	return out, nil
}

// checkBag applies the field rules (package uifield) to a data bag; prefix
// names the bag in error paths. create_ticket checks the values the remote
// sent; a staff submission (staff true) also needs required fields filled.
// Both go through here, so the two doors cannot disagree on a rule.
func checkBag(v *apierr.Validation, fields []uifield.Field, bag *structpb.Struct, prefix string, staff bool) {
	for _, f := range fields {
		val, ok := bag.GetFields()[f.Name]
		if ok {
			if msg := uifield.Check(f, val); msg != "" {
				v.Add(prefix+f.Name, "%s", msg)
				continue
			}
		}
		if staff {
			if msg := uifield.Required(f, val); msg != "" {
				v.Add(prefix+f.Name, "%s", msg)
			}
		}
	}
}

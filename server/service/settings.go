package service

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/intervention"
	"github.com/tickiti/tickiti/ent/queue"
	"github.com/tickiti/tickiti/ent/template"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/settings"
	"github.com/tickiti/tickiti/server/uifield"
)

// ApplySettings creates or updates the queues, templates and interventions
// of a settings file, all in one transaction: either everything is applied
// or nothing is. Items that already match the file are not written at all,
// so applying a file twice changes nothing (updated_at included).
//
// Queues, templates and interventions the file does not name are left
// alone. An intervention's remote token is kept when the file gives none;
// one that has none and needs one (its remote is enabled) gets a generated
// token, returned once in the report.
//
// Problems are a validation_failed *apierr.Error keyed by the file's key
// paths, each message starting with "line N: " (settings.ProblemsOf).
func (s *Service) ApplySettings(ctx context.Context, f *settings.File) (*settings.Report, error) {
	if err := f.Validate(); err != nil {
		return nil, apiError(err)
	}
	var rep *settings.Report
	// Reading inside the transaction makes the checks and the writes agree
	// with each other even when two applies run at once.
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		st, err := loadState(ctx, tx, f)
		if err != nil {
			return err
		}
		if err := checkAgainstDB(f, st); err != nil {
			return err
		}
		rep = &settings.Report{}
		if err := applyQueues(ctx, tx, f, st, rep); err != nil {
			return err
		}
		if err := applyTemplates(ctx, tx, f, st, rep); err != nil {
			return err
		}
		return applyInterventions(ctx, tx, f, st, rep)
	})
	if ent.IsConstraintError(err) {
		// Only a concurrent apply creating the same name gets here: the
		// state was read in this transaction.
		return nil, apierr.New(apierr.Conflict, "The settings were changed by someone else meanwhile; nothing was applied. Apply the file again.")
	}
	if err != nil {
		return nil, s.internal("apply settings", err)
	}
	return rep, nil
}

func apiError(err error) error {
	var se *settings.Error
	if errors.As(err, &se) {
		return se.APIError()
	}
	return err
}

// state is what the database holds of the names the file mentions.
type state struct {
	queues        map[string]*ent.Queue
	templates     map[string]*ent.Template
	interventions map[string]*ent.Intervention
}

func loadState(ctx context.Context, tx *ent.Tx, f *settings.File) (*state, error) {
	var queueNames, templateIDs, ivNames []string
	for _, q := range f.Queues {
		queueNames = append(queueNames, q.Name)
	}
	for _, t := range f.Templates {
		templateIDs = append(templateIDs, t.Identifier)
	}
	for _, iv := range f.Interventions {
		queueNames = append(queueNames, iv.Queue)
		templateIDs = append(templateIDs, iv.Name+".private")
		ivNames = append(ivNames, iv.Name)
	}
	st := &state{
		queues:        map[string]*ent.Queue{},
		templates:     map[string]*ent.Template{},
		interventions: map[string]*ent.Intervention{},
	}
	qs, err := tx.Queue.Query().Where(queue.NameIn(queueNames...)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, q := range qs {
		st.queues[q.Name] = q
	}
	ts, err := tx.Template.Query().Where(template.IdentifierIn(templateIDs...)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		st.templates[t.Identifier] = t
	}
	ivs, err := tx.Intervention.Query().Where(intervention.NameIn(ivNames...)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, iv := range ivs {
		st.interventions[iv.Name] = iv
	}
	return st, nil
}

// checkAgainstDB applies the rules that look beyond the file: an
// intervention's queue, and the .private template an enabled intervention
// renders on every new ticket, must be in the file or already stored.
func checkAgainstDB(f *settings.File, st *state) error {
	inFile := map[string]bool{}
	for _, q := range f.Queues {
		inFile["queue:"+q.Name] = true
	}
	for _, t := range f.Templates {
		inFile["template:"+t.Identifier] = true
	}
	var ps []settings.Problem
	for i, iv := range f.Interventions {
		if !inFile["queue:"+iv.Queue] && st.queues[iv.Queue] == nil {
			ps = append(ps, f.Problem(fmt.Sprintf("interventions[%d].queue", i),
				"there is no queue %q: declare it under queues, or name an existing queue", iv.Queue))
		}
		private := iv.Name + ".private"
		if iv.Enabled && !inFile["template:"+private] && st.templates[private] == nil {
			ps = append(ps, f.Problem(fmt.Sprintf("interventions[%d].name", i),
				"the enabled intervention %s needs the template %s (it is rendered as a staff note on every new ticket): declare it under templates, or set enabled: false",
				iv.Name, private))
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return (&settings.Error{File: f.Name, Problems: ps}).APIError()
}

func applyQueues(ctx context.Context, tx *ent.Tx, f *settings.File, st *state, rep *settings.Report) error {
	for _, q := range f.Queues {
		item := settings.Item{Kind: settings.KindQueue, Name: q.Name, Action: settings.Unchanged}
		if st.queues[q.Name] == nil {
			created, err := tx.Queue.Create().SetName(q.Name).Save(ctx)
			if err != nil {
				return err
			}
			st.queues[q.Name] = created
			item.Action = settings.Created
		}
		rep.Items = append(rep.Items, item)
	}
	return nil
}

func applyTemplates(ctx context.Context, tx *ent.Tx, f *settings.File, st *state, rep *settings.Report) error {
	for _, t := range f.Templates {
		item := settings.Item{Kind: settings.KindTemplate, Name: t.Identifier, Action: settings.Unchanged}
		switch old := st.templates[t.Identifier]; {
		case old == nil:
			if err := tx.Template.Create().SetIdentifier(t.Identifier).SetBody(t.Body).Exec(ctx); err != nil {
				return err
			}
			item.Action = settings.Created
		case old.Body != t.Body:
			if err := tx.Template.UpdateOneID(old.ID).SetBody(t.Body).Exec(ctx); err != nil {
				return err
			}
			item.Action, item.Changed = settings.Updated, []string{"body"}
		}
		rep.Items = append(rep.Items, item)
	}
	return nil
}

func applyInterventions(ctx context.Context, tx *ent.Tx, f *settings.File, st *state, rep *settings.Report) error {
	for _, iv := range f.Interventions {
		item := settings.Item{Kind: settings.KindIntervention, Name: iv.Name}
		queueID := st.queues[iv.Queue].ID
		timeout := int(iv.Remote.Timeout.Seconds())
		fields := iv.Fields
		if fields == nil {
			fields = []uifield.Field{} // stored as [], not null
		}
		old := st.interventions[iv.Name]
		token := iv.Remote.Token
		if token == "" && old != nil {
			token = old.RemoteToken
		}
		// A token is generated only when the remote will be called: one
		// printed for a disabled remote would most likely be lost by the
		// time the remote is enabled.
		if token == "" && iv.Remote.Enabled {
			token = auth.NewSecret()
			item.RemoteToken = token
		}

		if old == nil {
			err := tx.Intervention.Create().SetName(iv.Name).SetTitle(iv.Title).SetQueueID(queueID).
				SetEnabled(iv.Enabled).SetRemoteEnabled(iv.Remote.Enabled).SetRemoteEpilogURL(iv.Remote.EpilogURL).
				SetRemoteTimeoutSeconds(timeout).SetRemoteToken(token).SetFields(fields).Exec(ctx)
			if err != nil {
				return err
			}
			item.Action = settings.Created
			rep.Items = append(rep.Items, item)
			continue
		}

		up := tx.Intervention.UpdateOneID(old.ID)
		var changed []string
		if old.Title != iv.Title {
			up.SetTitle(iv.Title)
			changed = append(changed, "title")
		}
		if old.QueueID != queueID {
			up.SetQueueID(queueID)
			changed = append(changed, "queue")
		}
		if old.Enabled != iv.Enabled {
			up.SetEnabled(iv.Enabled)
			changed = append(changed, "enabled")
		}
		if old.RemoteEnabled != iv.Remote.Enabled {
			up.SetRemoteEnabled(iv.Remote.Enabled)
			changed = append(changed, "remote.enabled")
		}
		if old.RemoteEpilogURL != iv.Remote.EpilogURL {
			up.SetRemoteEpilogURL(iv.Remote.EpilogURL)
			changed = append(changed, "remote.epilog_url")
		}
		if old.RemoteTimeoutSeconds != timeout {
			up.SetRemoteTimeoutSeconds(timeout)
			changed = append(changed, "remote.timeout")
		}
		if old.RemoteToken != token {
			up.SetRemoteToken(token)
			changed = append(changed, "remote.token")
		}
		if !slices.Equal(old.Fields, fields) {
			up.SetFields(fields)
			changed = append(changed, "fields")
		}
		item.Action = settings.Unchanged
		if len(changed) > 0 {
			if err := up.Exec(ctx); err != nil {
				return err
			}
			item.Action, item.Changed = settings.Updated, changed
		}
		rep.Items = append(rep.Items, item)
	}
	return nil
}

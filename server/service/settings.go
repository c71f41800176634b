package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/intervention"
	"github.com/tickiti/tickiti/ent/queue"
	"github.com/tickiti/tickiti/ent/schema"
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
		st, err := s.loadState(ctx, tx, f)
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

// loadState reads the interventions first, locked as SetInterventionEnabled
// and DeleteTemplate lock them, so that the .private templates read next
// stay as they are until the file is applied.
func (s *Service) loadState(ctx context.Context, tx *ent.Tx, f *settings.File) (*state, error) {
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
	// In id order, so that two applies lock shared rows in the same order.
	ivs, err := s.lockRow(tx.Intervention.Query().Where(intervention.NameIn(ivNames...))).
		Order(ent.Asc(intervention.FieldID)).WithQueue().All(ctx)
	if err != nil {
		return nil, err
	}
	for _, iv := range ivs {
		st.interventions[iv.Name] = iv
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
			if err := audit(ctx, tx, nil, resQueue, q.Name, "create", schema.AuditChange{Field: "name", New: q.Name}); err != nil {
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
		var err error
		switch old := st.templates[t.Identifier]; {
		case old == nil:
			err = createTemplate(ctx, tx, nil, t.Identifier, t.Body)
			item.Action = settings.Created
		case old.Body != t.Body:
			err = updateTemplate(ctx, tx, nil, old, t.Body)
			item.Action, item.Changed = settings.Updated, []string{"body"}
		}
		if err != nil {
			return err
		}
		rep.Items = append(rep.Items, item)
	}
	return nil
}

// fileKeys names the audit log's intervention fields as the file does.
var fileKeys = map[string]string{
	"remote_enabled": "remote.enabled", "remote_epilog_url": "remote.epilog_url",
	"remote_timeout": "remote.timeout", "remote_token": "remote.token",
}

func applyInterventions(ctx context.Context, tx *ent.Tx, f *settings.File, st *state, rep *settings.Report) error {
	for _, iv := range f.Interventions {
		item := settings.Item{Kind: settings.KindIntervention, Name: iv.Name, Action: settings.Unchanged}
		old := st.interventions[iv.Name]
		v := ivValues{
			Title: iv.Title, QueueID: st.queues[iv.Queue].ID, Queue: iv.Queue, Enabled: iv.Enabled,
			RemoteEnabled: iv.Remote.Enabled, EpilogURL: iv.Remote.EpilogURL, Timeout: iv.Remote.Timeout,
			Token: iv.Remote.Token, Fields: iv.Fields,
		}
		oldQueue := ""
		if old != nil {
			oldQueue = old.Edges.Queue.Name
			if v.Token == "" {
				v.Token = old.RemoteToken
			}
		}
		// A token is generated only when the remote will be called: one
		// printed for a disabled remote would most likely be lost by the
		// time the remote is enabled.
		if v.Token == "" && v.RemoteEnabled {
			v.Token = auth.NewSecret()
			item.RemoteToken = v.Token
		}
		changes, err := saveIntervention(ctx, tx, nil, iv.Name, old, oldQueue, v)
		if err != nil {
			return err
		}
		switch {
		case old == nil:
			item.Action = settings.Created
		case len(changes) > 0:
			item.Action = settings.Updated
			for _, c := range changes {
				item.Changed = append(item.Changed, cmp.Or(fileKeys[c.Field], c.Field))
			}
		}
		rep.Items = append(rep.Items, item)
	}
	return nil
}

// ExportSettings returns the settings as a file ApplySettings accepts:
// every queue, template and intervention, or, with a name, that
// intervention with its queue and templates. Remote tokens are left out
// (settings.Marshal never writes them either); applying the export keeps
// the stored ones, so a round trip changes nothing.
func (s *Service) ExportSettings(ctx context.Context, name string) (*settings.File, error) {
	f := &settings.File{}
	err := s.db.Read(ctx, func(c *ent.Client) error {
		ivq := c.Intervention.Query().WithQueue().Order(ent.Asc(intervention.FieldID))
		qq := c.Queue.Query().Order(ent.Asc(queue.FieldID))
		tq := c.Template.Query().Order(ent.Asc(template.FieldID))
		if name != "" {
			iv, err := c.Intervention.Query().Where(intervention.Name(name)).Only(ctx)
			if ent.IsNotFound(err) {
				return interventionNotFound(name)
			}
			if err != nil {
				return err
			}
			ivq.Where(intervention.ID(iv.ID))
			qq.Where(queue.ID(iv.QueueID))
			ids := make([]string, len(settings.TemplateKinds))
			for i, k := range settings.TemplateKinds {
				ids[i] = name + "." + k
			}
			tq.Where(template.IdentifierIn(ids...))
		}
		qs, err := qq.All(ctx)
		if err != nil {
			return err
		}
		for _, q := range qs {
			f.Queues = append(f.Queues, settings.Queue{Name: q.Name})
		}
		ts, err := tq.All(ctx)
		if err != nil {
			return err
		}
		for _, t := range ts {
			f.Templates = append(f.Templates, settings.Template{Identifier: t.Identifier, Body: t.Body})
		}
		ivs, err := ivq.All(ctx)
		if err != nil {
			return err
		}
		for _, iv := range ivs {
			var fields []uifield.Field
			for _, fl := range iv.Fields {
				fields = append(fields, uifield.Normalize(fl))
			}
			f.Interventions = append(f.Interventions, settings.Intervention{
				Name: iv.Name, Title: iv.Title, Queue: iv.Edges.Queue.Name, Enabled: iv.Enabled,
				Remote: settings.Remote{
					Enabled: iv.RemoteEnabled, EpilogURL: iv.RemoteEpilogURL,
					Timeout: time.Duration(iv.RemoteTimeoutSeconds) * time.Second,
				},
				Fields: fields,
			})
		}
		return nil
	})
	if err != nil {
		return nil, s.internal("export settings", err)
	}
	return f, nil
}

package service

import (
	"context"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/intervention"
	"github.com/tickiti/tickiti/ent/schema"
	"github.com/tickiti/tickiti/ent/template"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/render"
	"github.com/tickiti/tickiti/server/settings"
)

// Templates are checked by settings.CheckTemplate, the rule the settings
// file meets too: an identifier "<intervention>.private|public|final" and a
// body that parses and renders. So create_ticket never meets a broken one.

// createTemplate and updateTemplate write a template and its audit record
// in tx; the settings file and the API both save through them.
func createTemplate(ctx context.Context, tx *ent.Tx, p *auth.Principal, id, body string) error {
	if err := tx.Template.Create().SetIdentifier(id).SetBody(body).Exec(ctx); err != nil {
		return err
	}
	return audit(ctx, tx, p, resTemplate, id, "create", schema.AuditChange{Field: "body", New: body})
}

func updateTemplate(ctx context.Context, tx *ent.Tx, p *auth.Principal, old *ent.Template, body string) error {
	if old.Body == body {
		return nil
	}
	if err := tx.Template.UpdateOneID(old.ID).SetBody(body).Exec(ctx); err != nil {
		return err
	}
	return audit(ctx, tx, p, resTemplate, old.Identifier, "update", schema.AuditChange{Field: "body", Old: old.Body, New: body})
}

// checkTemplate applies settings.CheckTemplate; an update checks only the
// body (the identifier is the stored one).
func checkTemplate(id, body string, bodyOnly bool) error {
	var v apierr.Validation
	for _, p := range settings.CheckTemplate(settings.Template{Identifier: id, Body: body}) {
		if !bodyOnly || p.Path == "body" {
			v.Add(p.Path, "%s", p.Message)
		}
	}
	return v.Err()
}

func templateNotFound(id string) error {
	return apierr.New(apierr.NotFound, "Template %q not found.", id)
}

// GetTemplate returns a template.
func (s *Service) GetTemplate(ctx context.Context, id string) (*v1.Template, error) {
	t, err := s.db.Template.Query().Where(template.Identifier(id)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, templateNotFound(id)
	}
	if err != nil {
		return nil, s.internal("load template", err)
	}
	return templateProto(t), nil
}

// ListTemplates lists templates in creation order, optionally those of one
// intervention (AIP-158).
func (s *Service) ListTemplates(ctx context.Context, req *v1.ListTemplatesRequest) (*v1.ListTemplatesResponse, error) {
	page, err := ParsePage(req.GetPageSize(), req.GetPageToken(), "templates "+req.GetIntervention())
	if err != nil {
		return nil, err
	}
	q := s.db.Template.Query().Where(template.IDGT(page.After))
	if name := req.GetIntervention(); name != "" {
		// The kinds are listed rather than matched by prefix, so that a
		// name with _ or % cannot act as a LIKE pattern.
		ids := make([]string, len(settings.TemplateKinds))
		for i, k := range settings.TemplateKinds {
			ids[i] = name + "." + k
		}
		q.Where(template.IdentifierIn(ids...))
	}
	ts, err := q.Order(ent.Asc(template.FieldID)).Limit(page.Size + 1).All(ctx)
	if err != nil {
		return nil, s.internal("list templates", err)
	}
	out := &v1.ListTemplatesResponse{}
	ts, out.NextPageToken = pageOf(page, ts, func(t *ent.Template) int { return t.ID })
	for _, t := range ts {
		out.Templates = append(out.Templates, templateProto(t))
	}
	return out, nil
}

// CreateTemplate creates a template whose identifier is new.
func (s *Service) CreateTemplate(ctx context.Context, p *auth.Principal, req *v1.CreateTemplateRequest) (*v1.Template, error) {
	id, body := req.GetTemplate().GetIdentifier(), req.GetTemplate().GetBody()
	if err := checkTemplate(id, body, false); err != nil {
		return nil, err
	}
	conflict := apierr.New(apierr.Conflict, "A template %q already exists.", id)
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		exists, err := tx.Template.Query().Where(template.Identifier(id)).Exist(ctx)
		if err != nil {
			return err
		}
		if exists {
			return conflict
		}
		return createTemplate(ctx, tx, p, id, body)
	})
	if ent.IsConstraintError(err) {
		return nil, conflict
	}
	if err != nil {
		return nil, s.internal("create template", err)
	}
	return s.GetTemplate(ctx, id)
}

// UpdateTemplate changes a template's body.
func (s *Service) UpdateTemplate(ctx context.Context, p *auth.Principal, req *v1.UpdateTemplateRequest) (*v1.Template, error) {
	in := req.GetTemplate()
	id := in.GetIdentifier()
	paths, err := maskPaths(req.GetUpdateMask(), in, map[string]bool{"body": true},
		map[string]bool{"identifier": true, "create_time": true, "update_time": true})
	if err != nil {
		return nil, err
	}
	err = s.db.Tx(ctx, func(tx *ent.Tx) error {
		old, err := tx.Template.Query().Where(template.Identifier(id)).Only(ctx)
		if ent.IsNotFound(err) {
			return templateNotFound(id)
		}
		if err != nil {
			return err
		}
		if !paths["body"] {
			return nil
		}
		if err := checkTemplate(id, in.GetBody(), true); err != nil {
			return err
		}
		return updateTemplate(ctx, tx, p, old, in.GetBody())
	})
	if err != nil {
		return nil, s.internal("update template", err)
	}
	return s.GetTemplate(ctx, id)
}

// DeleteTemplate deletes a template, unless it is the .private template of
// an enabled intervention, which every new ticket of it renders.
func (s *Service) DeleteTemplate(ctx context.Context, p *auth.Principal, id string) (*emptypb.Empty, error) {
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		t, err := tx.Template.Query().Where(template.Identifier(id)).Only(ctx)
		if ent.IsNotFound(err) {
			return templateNotFound(id)
		}
		if err != nil {
			return err
		}
		if name, kind, _ := settings.TemplateOf(id); kind == "private" {
			// Locked like enabling locks it, so the two cannot both pass
			// their checks; create_ticket holds a share lock while it
			// renders the template.
			ivs, err := s.lockRow(tx.Intervention.Query().Where(intervention.Name(name))).All(ctx)
			if err != nil {
				return err
			}
			if len(ivs) > 0 && ivs[0].Enabled {
				return apierr.New(apierr.Conflict,
					"The template %s cannot be deleted: the intervention %q is enabled and renders it on every new ticket. Disable the intervention first.", id, name)
			}
		}
		if err := tx.Template.DeleteOneID(t.ID).Exec(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, p, resTemplate, id, "delete", schema.AuditChange{Field: "body", Old: t.Body})
	})
	if err != nil {
		return nil, s.internal("delete template", err)
	}
	return &emptypb.Empty{}, nil
}

// RenderTemplate previews a template (the stored one, or req.body) with a
// sample data bag, through the same engine and context create_ticket and
// the final block use.
func (s *Service) RenderTemplate(ctx context.Context, req *v1.RenderTemplateRequest) (*v1.RenderTemplateResponse, error) {
	id := req.GetIdentifier()
	name, kind, ok := settings.TemplateOf(id)
	if !ok {
		return nil, apierr.Invalid("identifier", "%s", settings.CheckTemplateIdentifier(id))
	}
	var body string
	if req.Body != nil {
		body = req.GetBody()
		if err := render.Check(body); err != nil {
			return nil, apierr.Invalid("body", "is not a valid Mustache template: %v", err)
		}
	} else {
		t, err := s.GetTemplate(ctx, id)
		if err != nil {
			return nil, err
		}
		body = t.GetBody()
	}
	// The ticket values a real rendering sets, with sample values; the
	// sample data bag may set them too, to try other values.
	samples := ticketVars(1, "sample-uid", name)
	if kind == "final" {
		samples["ticket_audit"] = "Sample audit text from the remote system."
		samples["remote_reference"] = "SAMPLE-REF-1"
	} else {
		samples["originator_email_address"] = "customer@example.com"
	}
	vars := renderContext(req.GetData(), nil)
	for k, v := range samples {
		if _, set := vars[k]; !set {
			vars[k] = v
		}
	}
	text, err := render.String(body, vars)
	if err != nil {
		return nil, apierr.Invalid("body", "does not render: %v", err)
	}
	return &v1.RenderTemplateResponse{Text: text}, nil
}

func templateProto(t *ent.Template) *v1.Template {
	return &v1.Template{
		Identifier: t.Identifier, Body: t.Body,
		CreateTime: timestamppb.New(t.CreatedAt), UpdateTime: timestamppb.New(t.UpdatedAt),
	}
}

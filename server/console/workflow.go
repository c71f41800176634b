package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/service"
)

// The intervention and template screens: the workflow settings, on the
// same service methods as InterventionService, TemplateService and
// QueueService.
const (
	listInterventions   = v1.InterventionService_ListInterventions_FullMethodName
	getIntervention     = v1.InterventionService_GetIntervention_FullMethodName
	createIntervention  = v1.InterventionService_CreateIntervention_FullMethodName
	updateIntervention  = v1.InterventionService_UpdateIntervention_FullMethodName
	deleteIntervention  = v1.InterventionService_DeleteIntervention_FullMethodName
	enableIntervention  = v1.InterventionService_EnableIntervention_FullMethodName
	disableIntervention = v1.InterventionService_DisableIntervention_FullMethodName
	rotateRemoteToken   = v1.InterventionService_RotateRemoteToken_FullMethodName
	createQueue         = v1.QueueService_CreateQueue_FullMethodName

	listTemplates  = v1.TemplateService_ListTemplates_FullMethodName
	getTemplate    = v1.TemplateService_GetTemplate_FullMethodName
	createTemplate = v1.TemplateService_CreateTemplate_FullMethodName
	updateTemplate = v1.TemplateService_UpdateTemplate_FullMethodName
	deleteTemplate = v1.TemplateService_DeleteTemplate_FullMethodName
	renderTemplate = v1.TemplateService_RenderTemplate_FullMethodName
)

func (c *Console) routeWorkflow(mux *http.ServeMux) {
	mux.HandleFunc("GET /settings/interventions", c.authed(listInterventions, page(c, "interventions", c.interventionsView)))
	mux.HandleFunc("POST /settings/interventions", c.authed(createIntervention, c.createIntervention))
	mux.HandleFunc("POST /settings/queues", c.authed(createQueue, c.createQueue))
	mux.HandleFunc("GET /settings/interventions/{name}", c.authed(getIntervention, page(c, "intervention", c.loadIntervention)))
	mux.HandleFunc("POST /settings/interventions/{name}", c.authed(updateIntervention, c.updateIntervention))
	mux.HandleFunc("POST /settings/interventions/{name}/enable", c.authed(enableIntervention, c.setEnabled(true)))
	mux.HandleFunc("POST /settings/interventions/{name}/disable", c.authed(disableIntervention, c.setEnabled(false)))
	mux.HandleFunc("POST /settings/interventions/{name}/rotate", c.authed(rotateRemoteToken, c.rotateToken))
	mux.HandleFunc("POST /settings/interventions/{name}/delete", c.authed(deleteIntervention, c.deleteIntervention))

	mux.HandleFunc("GET /settings/templates", c.authed(listTemplates, page(c, "templates", c.templatesView)))
	mux.HandleFunc("POST /settings/templates", c.authed(createTemplate, c.createTemplate))
	mux.HandleFunc("POST /settings/templates/preview", c.authed(renderTemplate, c.previewTemplate))
	mux.HandleFunc("GET /settings/templates/{id}", c.authed(getTemplate, c.templatePage))
	mux.HandleFunc("POST /settings/templates/{id}", c.authed(updateTemplate, c.updateTemplate))
	mux.HandleFunc("POST /settings/templates/{id}/delete", c.authed(deleteTemplate, c.deleteTemplate))
}

// ---- interventions ----

type interventionsView struct {
	settingsBase
	Interventions []*v1.Intervention
	Queues        []*v1.Queue
	Next          string
	// The create form.
	Name, Title, Queue, NewQueue string
}

func (c *Console) interventionsView(r *http.Request, p *auth.Principal) (*interventionsView, error) {
	v := &interventionsView{settingsBase: c.settingsBase(r, p, "Interventions", "/settings/interventions")}
	resp, err := c.svc.ListInterventions(r.Context(), &v1.ListInterventionsRequest{PageSize: 100, PageToken: r.URL.Query().Get("page")})
	if err != nil {
		return nil, err
	}
	v.Interventions = resp.GetInterventions()
	if tok := resp.GetNextPageToken(); tok != "" {
		v.Next = "/settings/interventions?page=" + tok
	}
	qs, err := c.svc.ListQueues(r.Context(), &v1.ListQueuesRequest{PageSize: service.MaxPageSize})
	if err != nil {
		return nil, err
	}
	v.Queues = qs.GetQueues()
	return v, nil
}

// createIntervention creates an intervention (disabled, as the service
// creates them) and opens it to add fields and templates.
func (c *Console) createIntervention(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	name, title, queue := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("title"), r.PostFormValue("queue")
	_, err := c.svc.CreateIntervention(r.Context(), p, &v1.CreateInterventionRequest{
		Intervention: &v1.Intervention{Name: name, Title: title, Queue: queue},
	})
	if err == nil {
		http.Redirect(w, r, "/settings/interventions/"+url.PathEscape(name)+"?done=created", http.StatusSeeOther)
		return
	}
	showRefused(c, w, r, p, http.StatusUnprocessableEntity, "interventions", c.interventionsView, err, func(v *interventionsView) {
		v.Name, v.Title, v.Queue = name, title, queue
	})
}

func (c *Console) createQueue(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	name := r.PostFormValue("queue")
	_, err := c.svc.CreateQueue(r.Context(), p, &v1.CreateQueueRequest{Queue: &v1.Queue{Name: name}})
	if err == nil {
		http.Redirect(w, r, "/settings/interventions?done=created", http.StatusSeeOther)
		return
	}
	showRefused(c, w, r, p, http.StatusUnprocessableEntity, "interventions", c.interventionsView, err, func(v *interventionsView) {
		v.NewQueue = name
	})
}

type interventionView struct {
	settingsBase
	Iv     *v1.Intervention
	Queues []*v1.Queue
	Rows   []*fieldRow
	Types  []string
	// Timeout is remote_timeout in seconds, as typed.
	Timeout string
	// Templates are the intervention's three templates, existing or not.
	Templates []templateSlot
	// RemoteToken is a token just generated, shown this once.
	RemoteToken string
}

// fieldRow is one UI field as a row of the fields editor; the last row is
// blank, to add a field.
type fieldRow struct {
	Index                            int
	Type, Name, Label, Help, Default string
	Min, Max, Options                string
	Required, Remove                 bool
	Errors                           []string
	Position                         string
}

type templateSlot struct {
	Identifier, Kind, Purpose string
	Exists                    bool
}

// fieldTypes are the types offered; a stored type the console does not
// know stays selectable as it is.
var fieldTypes = []string{"text", "textarea", "checkbox", "number", "select", "date", "email"}

func (c *Console) loadIntervention(r *http.Request, p *auth.Principal) (*interventionView, error) {
	name := r.PathValue("name")
	iv, err := c.svc.GetIntervention(r.Context(), name)
	if err != nil {
		return nil, err
	}
	v := &interventionView{
		settingsBase: c.settingsBase(r, p, "Intervention "+name, "/settings/interventions"),
		Iv:           iv, Types: fieldTypes,
		Timeout: strconv.FormatInt(int64(iv.GetRemoteTimeout().AsDuration()/time.Second), 10),
	}
	qs, err := c.svc.ListQueues(r.Context(), &v1.ListQueuesRequest{PageSize: service.MaxPageSize})
	if err != nil {
		return nil, err
	}
	v.Queues = qs.GetQueues()
	for i, f := range iv.GetFields() {
		v.Rows = append(v.Rows, rowOf(i, f))
	}
	v.Rows = append(v.Rows, &fieldRow{Index: len(v.Rows), Type: "text", Position: strconv.Itoa(len(v.Rows) + 1)})
	ts, err := c.svc.ListTemplates(r.Context(), &v1.ListTemplatesRequest{Intervention: name, PageSize: service.MaxPageSize})
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, t := range ts.GetTemplates() {
		have[t.GetIdentifier()] = true
	}
	for _, k := range templateKinds {
		id := name + "." + k.Kind
		v.Templates = append(v.Templates, templateSlot{Identifier: id, Kind: k.Kind, Purpose: k.Purpose, Exists: have[id]})
	}
	return v, nil
}

var templateKinds = []struct{ Kind, Purpose string }{
	{"private", "internal note on every new ticket (required to enable)"},
	{"public", "public response on every new ticket (optional)"},
	{"final", "public response when the remote confirms (optional)"},
}

func rowOf(i int, f *v1.UIField) *fieldRow {
	row := &fieldRow{
		Index: i, Position: strconv.Itoa(i + 1), Type: f.GetType(), Name: f.GetName(), Label: f.GetLabel(),
		Help: f.GetHelp(), Required: f.GetRequired(),
	}
	if d := f.GetDefaultValue(); d != nil {
		row.Default = valueText(d)
	}
	if f.Min != nil {
		row.Min = strconv.FormatFloat(f.GetMin(), 'f', -1, 64)
	}
	if f.Max != nil {
		row.Max = strconv.FormatFloat(f.GetMax(), 'f', -1, 64)
	}
	var opts []string
	for _, o := range f.GetOptions() {
		if o.GetLabel() != "" && o.GetLabel() != o.GetValue() {
			opts = append(opts, o.GetValue()+"|"+o.GetLabel())
		} else {
			opts = append(opts, o.GetValue())
		}
	}
	row.Options = strings.Join(opts, "\n")
	return row
}

// updateIntervention saves the whole form: the settings and the fields
// (an update replaces the field list, as the API does).
func (c *Console) updateIntervention(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v, err := c.loadIntervention(r, p)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, p, apierr.New(apierr.MalformedJSON, "The form could not be read."))
		return
	}
	f := r.PostForm
	in := &v1.Intervention{
		Name: v.Iv.GetName(), Title: f.Get("title"), Queue: f.Get("queue"),
		RemoteEnabled: f.Has("remote_enabled"), RemoteEpilogUrl: strings.TrimSpace(f.Get("remote_epilog_url")),
	}
	v.Timeout = strings.TrimSpace(f.Get("remote_timeout"))
	var problems apierr.Validation
	if secs, err := strconv.Atoi(v.Timeout); err == nil {
		in.RemoteTimeout = durationpb.New(time.Duration(secs) * time.Second)
	} else if v.Timeout != "" {
		problems.Add("remote_timeout", "must be a whole number of seconds")
	}
	rows, fields := readFieldRows(f, &problems)
	in.Fields = fields
	// Show what was typed, whatever happens next.
	v.Iv.Title, v.Iv.Queue, v.Iv.RemoteEnabled, v.Iv.RemoteEpilogUrl = in.Title, in.Queue, in.RemoteEnabled, in.RemoteEpilogUrl
	v.Rows = rows
	err = problems.Err()
	if err == nil {
		_, err = c.svc.UpdateIntervention(r.Context(), p, &v1.UpdateInterventionRequest{
			Intervention: in,
			UpdateMask:   &fieldmaskpb.FieldMask{Paths: []string{"title", "queue", "remote_enabled", "remote_epilog_url", "remote_timeout", "fields"}},
		})
	}
	if err == nil {
		http.Redirect(w, r, "/settings/interventions/"+url.PathEscape(in.Name)+"?done=saved", http.StatusSeeOther)
		return
	}
	if err := v.formError(err); err != nil {
		c.fail(w, r, p, err)
		return
	}
	attachRowErrors(rows, v.Errors)
	c.render(w, r, http.StatusUnprocessableEntity, "intervention", v)
}

// readFieldRows reads the fields editor: rows ordered by their position,
// blank and removed rows left out. It returns the rows to show again (with
// the kept ones first, so that "fields[i]" errors land on row i) and the
// fields to save. Values that are not numbers where numbers go are form
// problems, reported like the service's.
func readFieldRows(f url.Values, problems *apierr.Validation) ([]*fieldRow, []*v1.UIField) {
	var rows []*fieldRow
	for i := 0; ; i++ {
		k := "f" + strconv.Itoa(i) + "."
		if !f.Has(k + "type") {
			break
		}
		rows = append(rows, &fieldRow{
			Type: f.Get(k + "type"), Name: strings.TrimSpace(f.Get(k + "name")), Label: f.Get(k + "label"),
			Help: f.Get(k + "help"), Default: f.Get(k + "default"), Min: strings.TrimSpace(f.Get(k + "min")),
			Max: strings.TrimSpace(f.Get(k + "max")), Options: strings.ReplaceAll(f.Get(k+"options"), "\r\n", "\n"),
			Required: f.Has(k + "required"), Remove: f.Has(k + "remove"), Position: strings.TrimSpace(f.Get(k + "position")),
		})
	}
	pos := func(r *fieldRow) float64 {
		n, err := strconv.ParseFloat(r.Position, 64)
		if err != nil {
			return 1e9
		}
		return n
	}
	sort.SliceStable(rows, func(i, j int) bool { return pos(rows[i]) < pos(rows[j]) })
	var kept []*fieldRow
	for _, r := range rows {
		blank := r.Name == "" && r.Label == "" && r.Help == "" && r.Default == "" && r.Options == ""
		if !r.Remove && !blank {
			kept = append(kept, r)
		}
	}
	var fields []*v1.UIField
	for i, r := range kept {
		r.Index = i
		uf := &v1.UIField{Type: r.Type, Name: r.Name, Label: r.Label, Help: r.Help, Required: r.Required}
		for _, b := range []struct {
			text string
			dst  **float64
			key  string
		}{{r.Min, &uf.Min, "min"}, {r.Max, &uf.Max, "max"}} {
			if b.text == "" {
				continue
			}
			n, err := strconv.ParseFloat(b.text, 64)
			if err != nil {
				problems.Add(fmt.Sprintf("fields[%d].%s", i, b.key), "must be a number")
				continue
			}
			*b.dst = &n
		}
		if r.Default != "" {
			uf.DefaultValue = defaultValue(r.Type, r.Default)
		}
		for _, line := range strings.Split(r.Options, "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			value, label, _ := strings.Cut(line, "|")
			uf.Options = append(uf.Options, &v1.UIFieldOption{Value: strings.TrimSpace(value), Label: strings.TrimSpace(label)})
		}
		fields = append(fields, uf)
	}
	// Removed rows go; the blank row for a new field stays at the end.
	out := append(kept, &fieldRow{Type: "text"})
	for i, r := range out {
		r.Index, r.Position = i, strconv.Itoa(i+1)
	}
	return out, fields
}

// defaultValue reads a typed default as the JSON the field holds: a
// checkbox's true/false and a number field's number; text otherwise (the
// service checks it against the field).
func defaultValue(typ, text string) *structpb.Value {
	switch typ {
	case "checkbox":
		if b, err := strconv.ParseBool(strings.TrimSpace(text)); err == nil {
			return structpb.NewBoolValue(b)
		}
	case "number":
		if n, err := strconv.ParseFloat(strings.TrimSpace(text), 64); err == nil {
			return structpb.NewNumberValue(n)
		}
	}
	return structpb.NewStringValue(text)
}

// attachRowErrors puts "fields[i]..." problems on row i.
func attachRowErrors(rows []*fieldRow, errs map[string][]string) {
	for key, msgs := range errs {
		rest, ok := strings.CutPrefix(key, "fields[")
		if !ok {
			continue
		}
		idx, attr, _ := strings.Cut(rest, "]")
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 || i >= len(rows) {
			continue
		}
		attr = strings.TrimPrefix(attr, ".")
		for _, m := range msgs {
			if attr != "" {
				m = attr + ": " + m
			}
			rows[i].Errors = append(rows[i].Errors, m)
		}
	}
	for _, r := range rows {
		sort.Strings(r.Errors)
	}
}

func (c *Console) setEnabled(enabled bool) func(http.ResponseWriter, *http.Request, *auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		name := r.PathValue("name")
		_, err := c.svc.SetInterventionEnabled(r.Context(), p, name, enabled)
		done := map[bool]string{true: "enabled", false: "disabled"}[enabled]
		c.afterInterventionAction(w, r, p, err, done)
	}
}

// rotateToken generates a new remote bearer token and shows it on the page
// that answers, this once.
func (c *Console) rotateToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	resp, err := c.svc.RotateRemoteToken(r.Context(), p, r.PathValue("name"))
	if err != nil {
		c.afterInterventionAction(w, r, p, err, "")
		return
	}
	v, err := c.loadIntervention(r, p)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	v.RemoteToken = resp.GetRemoteToken()
	c.render(w, r, http.StatusOK, "intervention", v)
}

func (c *Console) deleteIntervention(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if _, err := c.svc.DeleteIntervention(r.Context(), p, r.PathValue("name")); err != nil {
		c.afterInterventionAction(w, r, p, err, "")
		return
	}
	http.Redirect(w, r, "/settings/interventions?done=deleted", http.StatusSeeOther)
}

// afterInterventionAction redirects back to the intervention, or shows why
// the action was refused on its page.
func (c *Console) afterInterventionAction(w http.ResponseWriter, r *http.Request, p *auth.Principal, err error, done string) {
	if err == nil {
		http.Redirect(w, r, "/settings/interventions/"+url.PathEscape(r.PathValue("name"))+"?done="+done, http.StatusSeeOther)
		return
	}
	showRefused(c, w, r, p, apierr.HTTPStatus(errReason(err)), "intervention", c.loadIntervention, err, nil)
}

func errReason(err error) string {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return apierr.Internal
}

// ---- templates ----

type templatesView struct {
	settingsBase
	Templates []*v1.Template
	Next      string
	// The create form.
	Identifier, Body string
}

func (c *Console) templatesView(r *http.Request, p *auth.Principal) (*templatesView, error) {
	v := &templatesView{settingsBase: c.settingsBase(r, p, "Templates", "/settings/templates")}
	resp, err := c.svc.ListTemplates(r.Context(), &v1.ListTemplatesRequest{PageSize: 100, PageToken: r.URL.Query().Get("page")})
	if err != nil {
		return nil, err
	}
	v.Templates = resp.GetTemplates()
	if tok := resp.GetNextPageToken(); tok != "" {
		v.Next = "/settings/templates?page=" + tok
	}
	v.Identifier = r.URL.Query().Get("new")
	return v, nil
}

func (c *Console) createTemplate(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, body := strings.TrimSpace(r.PostFormValue("identifier")), strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n")
	_, err := c.svc.CreateTemplate(r.Context(), p, &v1.CreateTemplateRequest{Template: &v1.Template{Identifier: id, Body: body}})
	if err == nil {
		http.Redirect(w, r, "/settings/templates/"+url.PathEscape(id)+"?done=created", http.StatusSeeOther)
		return
	}
	showRefused(c, w, r, p, http.StatusUnprocessableEntity, "templates", c.templatesView, err, func(v *templatesView) {
		v.Identifier, v.Body = id, body
	})
}

type templateView struct {
	settingsBase
	T *v1.Template
	// Sample is the data bag the preview renders with, as JSON.
	Sample string
	// Preview is the rendered text, or PreviewError why there is none.
	Preview, PreviewError string
}

func (c *Console) loadTemplate(r *http.Request, p *auth.Principal) (*templateView, error) {
	id := r.PathValue("id")
	t, err := c.svc.GetTemplate(r.Context(), id)
	if err != nil {
		return nil, err
	}
	v := &templateView{settingsBase: c.settingsBase(r, p, "Template "+id, "/settings/templates"), T: t}
	v.Sample = c.sampleBag(r, id)
	return v, nil
}

// sampleBag proposes a data bag for the preview: the intervention's field
// names with their defaults (or a placeholder).
func (c *Console) sampleBag(r *http.Request, id string) string {
	name, _, _ := strings.Cut(id, ".")
	bag := map[string]any{}
	if iv, err := c.svc.GetIntervention(r.Context(), name); err == nil {
		for _, f := range iv.GetFields() {
			switch {
			case f.GetDefaultValue() != nil:
				bag[f.GetName()] = f.GetDefaultValue().AsInterface()
			case f.GetType() == "checkbox":
				bag[f.GetName()] = false
			case f.GetType() == "number":
				bag[f.GetName()] = 100
			default:
				bag[f.GetName()] = "sample " + f.GetName()
			}
		}
	}
	b, _ := json.MarshalIndent(bag, "", "  ")
	return string(b)
}

func (c *Console) templatePage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v, err := c.loadTemplate(r, p)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	v.Preview, v.PreviewError = c.preview(r, v.T.GetIdentifier(), v.T.GetBody(), v.Sample)
	c.render(w, r, http.StatusOK, "template", v)
}

func (c *Console) updateTemplate(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v, err := c.loadTemplate(r, p)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	body := strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n")
	_, err = c.svc.UpdateTemplate(r.Context(), p, &v1.UpdateTemplateRequest{
		Template: &v1.Template{Identifier: v.T.GetIdentifier(), Body: body}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"body"}},
	})
	if err == nil {
		http.Redirect(w, r, "/settings/templates/"+url.PathEscape(v.T.GetIdentifier())+"?done=saved", http.StatusSeeOther)
		return
	}
	if err := v.formError(err); err != nil {
		c.fail(w, r, p, err)
		return
	}
	v.T.Body = body
	if s := r.PostFormValue("sample"); s != "" {
		v.Sample = s
	}
	v.Preview, v.PreviewError = c.preview(r, v.T.GetIdentifier(), body, v.Sample)
	c.render(w, r, http.StatusUnprocessableEntity, "template", v)
}

func (c *Console) deleteTemplate(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if _, err := c.svc.DeleteTemplate(r.Context(), p, r.PathValue("id")); err != nil {
		showRefused(c, w, r, p, apierr.HTTPStatus(errReason(err)), "template", c.loadTemplate, err, nil)
		return
	}
	http.Redirect(w, r, "/settings/templates?done=deleted", http.StatusSeeOther)
}

// previewTemplate answers the editor's script with the rendered text as an
// HTML fragment (rendered by the template engine, so escaped).
func (c *Console) previewTemplate(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	text, problem := c.preview(r, r.PostFormValue("identifier"), strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n"), r.PostFormValue("sample"))
	c.renderFragment(w, "template", &templateView{Preview: text, PreviewError: problem})
}

// preview renders body with the sample data bag (JSON) through the
// service's RenderTemplate, exactly as a ticket would be rendered.
func (c *Console) preview(r *http.Request, id, body, sample string) (string, string) {
	data := &structpb.Struct{}
	if strings.TrimSpace(sample) != "" {
		if err := data.UnmarshalJSON([]byte(sample)); err != nil {
			return "", "The sample data is not a JSON object: " + err.Error()
		}
	}
	resp, err := c.svc.RenderTemplate(r.Context(), &v1.RenderTemplateRequest{Identifier: id, Data: data, Body: &body})
	if err != nil {
		var ae *apierr.Error
		if errors.As(err, &ae) {
			msg := ae.Message
			for _, k := range sortedKeys(ae.Fields) {
				for _, m := range ae.Fields[k] {
					msg += " " + k + " " + m
				}
			}
			return "", msg
		}
		return "", "The template could not be rendered."
	}
	return resp.GetText(), ""
}

package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/tickiti/tickiti/ent/auditevent"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/pkg/webhook"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/dbtest"
)

// The workflow settings API (InterventionService, TemplateService,
// QueueService) over REST and gRPC, end to end.

// wf calls the settings API with the fixture's admin token and decodes the
// envelope's data into out (when not nil), failing unless the status is want.
func (f *fixture) wf(t *testing.T, token, method, path, body string, want int, out any) []byte {
	t.Helper()
	code, _, b := do(t, method, f.srv.base+path, token, nil, body)
	if code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, want)
	}
	if out != nil {
		var env struct {
			OK   bool            `json:"ok"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(b, &env); err != nil || !env.OK {
			t.Fatalf("%s %s: %v %s", method, path, err, b)
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			t.Fatalf("%s %s: decode data: %v %s", method, path, err, b)
		}
	}
	return b
}

// wfError checks an error answer: its status, reason, and that each field
// has a message containing the text given.
func wfError(t *testing.T, body []byte, reason string, fields map[string]string) errorBody {
	t.Helper()
	e := decodeError(t, body)
	if e.Error != reason {
		t.Errorf("error %q, want %q: %s", e.Error, reason, body)
	}
	for field, text := range fields {
		msgs := strings.Join(e.Errors[field], " | ")
		if msgs == "" || !strings.Contains(msgs, text) {
			t.Errorf("errors[%q] = %q, want it to contain %q (all: %v)", field, msgs, text, e.Errors)
		}
	}
	return e
}

type ivView struct {
	Name            string           `json:"name"`
	Title           string           `json:"title"`
	Queue           string           `json:"queue"`
	Enabled         bool             `json:"enabled"`
	RemoteEnabled   bool             `json:"remote_enabled"`
	RemoteEpilogURL string           `json:"remote_epilog_url"`
	RemoteTimeout   string           `json:"remote_timeout"`
	RemoteTokenSet  bool             `json:"remote_token_set"`
	Fields          []map[string]any `json:"fields"`
}

// settingsAdmin is a token acting without a user (an operator's), which the
// admin-only policy lets through.
func settingsAdmin(t *testing.T, f *fixture) string {
	return newToken(t, f.db, nil, auth.WorkflowWrite, auth.TicketsWrite)
}

func TestSettingsInterventionsREST(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dburl string) {
		f := newFixture(t, dburl, finalAnswer)
		admin := settingsAdmin(t, f)

		// The seed's intervention: the token is set but never shown.
		var got ivView
		body := f.wf(t, admin, "GET", "/api/v1/interventions/discount_request", "", 200, &got)
		if !got.Enabled || !got.RemoteTokenSet || got.Queue != "Inbox" || got.RemoteTimeout != "2s" || len(got.Fields) != 2 {
			t.Errorf("GET = %+v", got)
		}
		if strings.Contains(string(body), f.remoteToken) {
			t.Errorf("GET shows the remote token: %s", body)
		}

		// Create: validation names each field by its path.
		code, _, b := do(t, "POST", f.srv.base+"/api/v1/interventions", admin, nil,
			`{"name": "Refund", "queue": "Inbox", "remote_enabled": true, "remote_timeout": "90s",
			  "fields": [{"type": "radio", "name": "x"}, {"type": "number", "name": "amount", "min": 5, "max": 1}]}`)
		if code != http.StatusUnprocessableEntity {
			t.Fatalf("bad create: %d %s", code, b)
		}
		wfError(t, b, "validation_failed", map[string]string{
			"name":              "must contain only lowercase letters, digits and _",
			"title":             "is required",
			"remote_epilog_url": "is required when the remote is enabled",
			"remote_timeout":    "must be between 1s and 60s",
			"fields[0].type":    `unknown type "radio"`,
			"fields[1].max":     "must not be less than min (5)",
		})
		code, _, b = do(t, "POST", f.srv.base+"/api/v1/interventions", admin, nil,
			`{"name": "refund", "title": "Refund", "queue": "Nowhere"}`)
		if code != http.StatusUnprocessableEntity {
			t.Fatalf("unknown queue: %d %s", code, b)
		}
		wfError(t, b, "validation_failed", map[string]string{"queue": `there is no queue "Nowhere"`})

		var refund ivView
		f.wf(t, admin, "POST", "/api/v1/interventions",
			`{"name": "refund", "title": "Refund", "queue": "Inbox", "remote_enabled": true,
			  "remote_epilog_url": "https://remote.example/epilog",
			  "fields": [{"type": "number", "name": "amount", "label": "Amount {{currency}}", "min": 0, "max": 500, "required": true},
			             {"type": "select", "name": "reason", "options": [{"value": "damaged", "label": "Damaged"}, {"value": "late", "label": "Late"}], "default_value": "late"}]}`,
			201, &refund)
		if refund.Enabled || refund.RemoteTokenSet || refund.RemoteTimeout != "10s" || len(refund.Fields) != 2 ||
			refund.Fields[1]["default_value"] != "late" || refund.Fields[0]["max"] != 500.0 {
			t.Errorf("created = %+v", refund)
		}
		_, _, b = do(t, "POST", f.srv.base+"/api/v1/interventions", admin, nil, `{"name": "refund", "title": "Again", "queue": "Inbox"}`)
		wfError(t, b, "conflict", nil)

		// It cannot be enabled before its .private template exists.
		code, _, b = do(t, "POST", f.srv.base+"/api/v1/interventions/refund:enable", admin, nil, `{}`)
		if code != http.StatusConflict || !strings.Contains(decodeError(t, b).Message, "refund.private is missing") {
			t.Errorf("enable without template: %d %s", code, b)
		}
		// A template that does not parse is refused with its position.
		code, _, b = do(t, "POST", f.srv.base+"/api/v1/templates", admin, nil,
			`{"identifier": "refund.private", "body": "Refund {{uid}}\n{{#amount}}{{amount}}"}`)
		if code != http.StatusUnprocessableEntity {
			t.Fatalf("bad template: %d %s", code, b)
		}
		wfError(t, b, "validation_failed", map[string]string{"body": "line 2: Section amount has no closing tag"})
		_, _, b = do(t, "POST", f.srv.base+"/api/v1/templates", admin, nil, `{"identifier": "refund.privat", "body": "x"}`)
		wfError(t, b, "validation_failed", map[string]string{"identifier": "must be <intervention>.private"})
		f.wf(t, admin, "POST", "/api/v1/templates", `{"identifier": "refund.private", "body": "Refund {{uid}}: {{amount}}"}`, 201, nil)
		f.wf(t, admin, "POST", "/api/v1/interventions/refund:enable", `{}`, 200, &refund)
		if !refund.Enabled {
			t.Errorf("after enable: %+v", refund)
		}
		// Its .private template cannot go while it is enabled.
		_, _, b = do(t, "DELETE", f.srv.base+"/api/v1/templates/refund.private", admin, nil, "")
		wfError(t, b, "conflict", nil)

		// PATCH with only a title changes only the title.
		var patched ivView
		f.wf(t, admin, "PATCH", "/api/v1/interventions/refund", `{"title": "Refund request"}`, 200, &patched)
		if patched.Title != "Refund request" || patched.RemoteEpilogURL != "https://remote.example/epilog" ||
			!patched.RemoteEnabled || !patched.Enabled || len(patched.Fields) != 2 || patched.RemoteTimeout != "10s" {
			t.Errorf("after PATCH title: %+v", patched)
		}
		// A whole resource read with GET can be sent back (output-only
		// fields are ignored); an explicit mask limits the change.
		whole := `{"name": "refund", "title": "Ignored", "queue": "Inbox", "enabled": false, "remote_token_set": true,
			"remote_enabled": false, "remote_timeout": "30s", "create_time": "2020-01-01T00:00:00Z"}`
		f.wf(t, admin, "PATCH", "/api/v1/interventions/refund?update_mask=remote_timeout", whole, 200, &patched)
		if patched.Title != "Refund request" || !patched.RemoteEnabled || patched.RemoteTimeout != "30s" || !patched.Enabled {
			t.Errorf("after PATCH with mask: %+v", patched)
		}
		code, _, b = do(t, "PATCH", f.srv.base+"/api/v1/interventions/refund?update_mask=colour", admin, nil, `{"title": "x"}`)
		if code != http.StatusUnprocessableEntity {
			t.Errorf("unknown mask path: %d %s", code, b)
		}
		code, _, b = do(t, "PATCH", f.srv.base+"/api/v1/interventions/refund", admin, nil, `{"remote_epilog_url": "ftp://x/y"}`)
		if code != http.StatusUnprocessableEntity {
			t.Fatalf("bad URL: %d %s", code, b)
		}
		wfError(t, b, "validation_failed", map[string]string{"remote_epilog_url": "must be an absolute http:// or https:// URL"})
		code, _, b = do(t, "PATCH", f.srv.base+"/api/v1/interventions/nope", admin, nil, `{"title": "x"}`)
		if code != http.StatusNotFound {
			t.Errorf("PATCH unknown: %d %s", code, b)
		}

		// Listing: both, in creation order, no token anywhere.
		var list struct {
			Interventions []ivView `json:"interventions"`
			NextPageToken string   `json:"next_page_token"`
		}
		b = f.wf(t, admin, "GET", "/api/v1/interventions", "", 200, &list)
		if len(list.Interventions) != 2 || list.Interventions[0].Name != "discount_request" || list.Interventions[1].Name != "refund" || list.NextPageToken != "" {
			t.Errorf("list = %+v", list)
		}
		if strings.Contains(string(b), f.remoteToken) {
			t.Errorf("the listing shows a remote token: %s", b)
		}
		code, _, b = do(t, "GET", f.srv.base+"/api/v1/interventions?page_token=garbage", admin, nil, "")
		if code != http.StatusUnprocessableEntity {
			t.Errorf("bad page token: %d %s", code, b)
		}
		wfError(t, b, "validation_failed", map[string]string{"page_token": "invalid"})

		// Disable, then delete; gone afterwards.
		f.wf(t, admin, "POST", "/api/v1/interventions/refund:disable", `{}`, 200, &refund)
		if refund.Enabled {
			t.Errorf("after disable: %+v", refund)
		}
		f.wf(t, admin, "DELETE", "/api/v1/interventions/refund", "", 200, nil)
		if code, _, b := do(t, "GET", f.srv.base+"/api/v1/interventions/refund", admin, nil, ""); code != http.StatusNotFound {
			t.Errorf("GET after delete: %d %s", code, b)
		}

		// The changes are in the audit log, old → new, by the token.
		ctx := context.Background()
		evs := f.db.AuditEvent.Query().Where(auditevent.Resource("intervention"), auditevent.ResourceName("refund")).
			Order(auditevent.ByID()).AllX(ctx)
		var actions []string
		for _, ev := range evs {
			actions = append(actions, ev.Action)
			if ev.Actor != auth.SystemName || ev.ActorTokenID == nil {
				t.Errorf("event %s by %q (token %v)", ev.Action, ev.Actor, ev.ActorTokenID)
			}
		}
		if want := "create enable update update disable delete"; strings.Join(actions, " ") != want {
			t.Errorf("actions = %v, want %s", actions, want)
		}
		if c := evs[2].Changes; len(c) != 1 || c[0].Field != "title" || c[0].Old != "Refund" || c[0].New != "Refund request" {
			t.Errorf("title update recorded as %+v", c)
		}
	})
}

// TestSettingsRotateRemoteToken: the new token is shown once, never again,
// and the next epilog call carries it.
func TestSettingsRotateRemoteToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dburl string) {
		f := newFixture(t, dburl, finalAnswer)
		admin := settingsAdmin(t, f)

		var rotated struct {
			Intervention ivView `json:"intervention"`
			RemoteToken  string `json:"remote_token"`
		}
		f.wf(t, admin, "POST", "/api/v1/interventions/discount_request:rotateRemoteToken", `{}`, 200, &rotated)
		token := rotated.RemoteToken
		if len(token) != 40 || token == f.remoteToken || !rotated.Intervention.RemoteTokenSet {
			t.Fatalf("rotate = %+v", rotated)
		}
		// Shown once: neither a get nor a listing shows it again.
		for _, path := range []string{"/api/v1/interventions/discount_request", "/api/v1/interventions"} {
			if b := f.wf(t, admin, "GET", path, "", 200, nil); strings.Contains(string(b), token) {
				t.Errorf("GET %s shows the token: %s", path, b)
			}
		}
		// The epilog call carries the new token.
		f.mustCreate(t)
		if code, body := f.submit(t, "100001", `{"data": {"accept": true}}`); code != http.StatusOK {
			t.Fatalf("submit: %d %s", code, body)
		}
		f.waitFor(t, 100001, "completion", func(v ticketView) bool { return v.Data.Intervention.Status == "completed" })
		if calls := f.remote.received(); len(calls) != 1 || calls[0].header.Get("Authorization") != "Bearer "+token {
			t.Errorf("epilog Authorization = %q, want the new token", calls[0].header.Get("Authorization"))
		}
		// The audit log says it changed, never what it is.
		ev := f.db.AuditEvent.Query().Where(auditevent.Action("rotate_token")).OnlyX(context.Background())
		raw, _ := json.Marshal(ev.Changes)
		if string(raw) != `[{"field":"remote_token","old":"[redacted]","new":"[redacted]"}]` {
			t.Errorf("audit changes = %s", raw)
		}
		if _, _, b := do(t, "POST", f.srv.base+"/api/v1/interventions/nope:rotateRemoteToken", admin, nil, `{}`); decodeError(t, b).Error != "not_found" {
			t.Errorf("rotate unknown: %s", b)
		}
	})
}

// TestSettingsDeleteIntervention: refused while a payload is open or
// submitted; once the work is done, the intervention goes with its finished
// payloads and the ticket stays.
func TestSettingsDeleteIntervention(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dburl string) {
		f := newFixture(t, dburl, finalAnswer)
		admin := settingsAdmin(t, f)
		f.mustCreate(t)
		code, _, b := do(t, "DELETE", f.srv.base+"/api/v1/interventions/discount_request", admin, nil, "")
		if code != http.StatusConflict || !strings.Contains(decodeError(t, b).Message, "1 open or submitted payload") {
			t.Fatalf("delete with an open payload: %d %s", code, b)
		}
		if code, body := f.submit(t, "100001", `{"data": {"accept": true}}`); code != http.StatusOK {
			t.Fatalf("submit: %d %s", code, body)
		}
		f.waitFor(t, 100001, "completion", func(v ticketView) bool { return v.Data.Intervention.Status == "completed" })
		f.wf(t, admin, "DELETE", "/api/v1/interventions/discount_request", "", 200, nil)
		v := f.ticket(t, 100001)
		if v.Data.Intervention.Status != "" || len(v.Data.Responses) < 3 {
			t.Errorf("ticket after delete: %+v", v.Data)
		}
		if code, _, b := f.createTicket(t, "after-delete", seedBody); code != http.StatusUnprocessableEntity {
			t.Errorf("create_ticket after delete: %d %s", code, b)
		}
	})
}

// TestSettingsFieldRules: the rules of UI fields, set through the API, are
// applied by create_ticket (per field, 422) and by staff submit (required).
func TestSettingsFieldRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dburl string) {
		f := newFixture(t, dburl, finalAnswer)
		admin := settingsAdmin(t, f)
		f.wf(t, admin, "PATCH", "/api/v1/interventions/discount_request", `{"fields": [
			{"type": "number", "name": "order_price", "label": "Order price {{currency}}", "min": 1, "max": 1000},
			{"type": "checkbox", "name": "accept", "label": "Accept?"},
			{"type": "select", "name": "reason", "options": [{"value": "loyal", "label": "Loyal"}, {"value": "7", "label": "Seven"}]},
			{"type": "date", "name": "until"},
			{"type": "email", "name": "contact"},
			{"type": "textarea", "name": "note", "label": "Why?", "required": true, "help": "Staff must say why."},
			{"type": "text", "name": "channel", "default_value": "web"}]}`, 200, nil)

		bad := `{"originator_email_address": "customer@example.com", "intervention": "discount_request", "uid": "u1",
			"data": {"data": {"order_price": 5000, "accept": "yes", "reason": "angry", "until": "31/12/2025", "contact": "not an address"}}}`
		code, _, b := f.createTicket(t, "bad-bag", bad)
		if code != http.StatusUnprocessableEntity {
			t.Fatalf("create with bad values: %d %s", code, b)
		}
		wfError(t, b, "validation_failed", map[string]string{
			"data.data.order_price": "must not be greater than 1000",
			"data.data.accept":      "must be true or false",
			"data.data.reason":      "must be one of: loyal, 7",
			"data.data.until":       "YYYY-MM-DD",
			"data.data.contact":     "valid email address",
		})
		if e := decodeError(t, b); len(e.Errors) != 5 || e.Errors["data.data.note"] != nil {
			t.Errorf("errors = %v: create_ticket does not ask for required fields", e.Errors)
		}
		for _, c := range []struct{ bag, field, text string }{
			{`{"order_price": "100"}`, "data.data.order_price", "must be a number"},
			{`{"order_price": 0}`, "data.data.order_price", "must be at least 1"},
		} {
			code, _, b := f.createTicket(t, "k-"+c.bag, `{"originator_email_address": "c@example.com", "intervention": "discount_request", "uid": "u1", "data": {"data": `+c.bag+`}}`)
			if code != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d %s", c.bag, code, b)
				continue
			}
			wfError(t, b, "validation_failed", map[string]string{c.field: c.text})
		}

		good := `{"originator_email_address": "customer@example.com", "intervention": "discount_request", "uid": "order-12345-discount",
			"data": {"data": {"currency": "GBP", "order_price": 100, "accept": false, "reason": 7, "until": "2025-12-31", "contact": "shop@example.com", "note": null}}}`
		if code, _, b := f.createTicket(t, "good-bag", good); code != http.StatusCreated {
			t.Fatalf("create with good values: %d %s", code, b)
		}
		// Staff see the default of a field the bag lacks.
		v := f.ticket(t, 100001)
		if fl := v.Data.Intervention.Fields; len(fl) != 7 || fl[6].Value != "web" || fl[0].Label != "Order price GBP" {
			t.Errorf("fields = %+v", fl)
		}
		// Submit: the required note is missing; a number edited as text is
		// a number; a number out of range is refused.
		code, b = f.submit(t, "100001", `{"data": {"order_price": "2000", "accept": true}}`)
		if code != http.StatusUnprocessableEntity {
			t.Fatalf("submit without note: %d %s", code, b)
		}
		wfError(t, b, "validation_failed", map[string]string{
			"data.note":        "The note field is required.",
			"data.order_price": "must not be greater than 1000",
		})
		code, b = f.submit(t, "100001", `{"data": {"order_price": "95", "accept": true, "note": "   "}}`)
		if code != http.StatusUnprocessableEntity {
			t.Fatalf("submit with a blank note: %d %s", code, b)
		}
		if code, b := f.submit(t, "100001", `{"data": {"order_price": "95", "accept": true, "note": "Loyal customer."}}`); code != http.StatusOK {
			t.Fatalf("submit: %d %s", code, b)
		}
		f.waitFor(t, 100001, "completion", func(v ticketView) bool { return v.Data.Intervention.Status == "completed" })
		calls := f.remote.received()
		var epilog struct{ Data map[string]any }
		if err := json.Unmarshal(calls[0].body, &epilog); err != nil {
			t.Fatal(err)
		}
		if d := epilog.Data; d["order_price"] != 95.0 || d["note"] != "Loyal customer." || d["channel"] != "web" || d["reason"] != 7.0 {
			t.Errorf("epilog data = %v", d)
		}
	})
}

func TestSettingsTemplatesAndQueues(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dburl string) {
		f := newFixture(t, dburl, finalAnswer)
		admin := settingsAdmin(t, f)

		// Render a stored template and an edit, with a sample data bag.
		var r struct{ Text string }
		f.wf(t, admin, "POST", "/api/v1/templates/discount_request.private:render",
			`{"data": {"order_price": 100, "currency": "<GBP>"}}`, 200, &r)
		if r.Text != "Discount request sample-uid: 100 &lt;GBP&gt;" {
			t.Errorf("render = %q", r.Text)
		}
		f.wf(t, admin, "POST", "/api/v1/templates/discount_request.final:render",
			`{"body": "Done: {{ticket_audit}} ({{remote_reference}}) #{{ticket_number}}", "data": {"remote_reference": "R-9"}}`, 200, &r)
		if r.Text != "Done: Sample audit text from the remote system. (R-9) #100001" {
			t.Errorf("render edit = %q", r.Text)
		}
		_, _, b := do(t, "POST", f.srv.base+"/api/v1/templates/discount_request.final:render", admin, nil, `{"body": "{{/x}}"}`)
		wfError(t, b, "validation_failed", map[string]string{"body": "line 1"})

		// Update: only the body changes; a broken body is refused.
		var tm struct{ Identifier, Body string }
		f.wf(t, admin, "PATCH", "/api/v1/templates/discount_request.public", `{"body": "Thanks, {{uid}}."}`, 200, &tm)
		if tm.Body != "Thanks, {{uid}}." || tm.Identifier != "discount_request.public" {
			t.Errorf("after update: %+v", tm)
		}
		_, _, b = do(t, "PATCH", f.srv.base+"/api/v1/templates/discount_request.public", admin, nil, `{"body": "{{> partial}}"}`)
		wfError(t, b, "validation_failed", map[string]string{"body": "partials are not supported"})
		var tl struct {
			Templates []struct{ Identifier string } `json:"templates"`
		}
		f.wf(t, admin, "GET", "/api/v1/templates?intervention=discount_request", "", 200, &tl)
		if len(tl.Templates) != 3 {
			t.Errorf("templates = %+v", tl)
		}
		f.wf(t, admin, "DELETE", "/api/v1/templates/discount_request.final", "", 200, nil)

		// Queues: open-ticket counts, rename, delete when unused.
		f.mustCreate(t)
		var ql struct {
			Queues []struct {
				Name            string `json:"name"`
				OpenTicketCount int64  `json:"open_ticket_count"`
			} `json:"queues"`
		}
		f.wf(t, admin, "POST", "/api/v1/queues", `{"name": "Sales EU"}`, 201, nil)
		_, _, b = do(t, "POST", f.srv.base+"/api/v1/queues", admin, nil, `{"name": "Sales EU"}`)
		wfError(t, b, "conflict", nil)
		_, _, b = do(t, "POST", f.srv.base+"/api/v1/queues", admin, nil, `{"name": "a/b"}`)
		wfError(t, b, "validation_failed", map[string]string{"name": "must not contain /"})
		f.wf(t, admin, "GET", "/api/v1/queues", "", 200, &ql)
		if len(ql.Queues) != 2 || ql.Queues[0].Name != "Inbox" || ql.Queues[0].OpenTicketCount != 1 || ql.Queues[1].OpenTicketCount != 0 {
			t.Errorf("queues = %+v", ql)
		}
		code, _, b := do(t, "DELETE", f.srv.base+"/api/v1/queues/Inbox", admin, nil, "")
		if code != http.StatusConflict || !strings.Contains(decodeError(t, b).Message, "1 ticket(s)") {
			t.Errorf("delete Inbox: %d %s", code, b)
		}
		f.wf(t, admin, "PATCH", "/api/v1/queues/Inbox", `{"name": "Support"}`, 200, nil)
		if v := f.ticket(t, 100001); v.Data.Queue != "Support" {
			t.Errorf("ticket queue after rename = %q", v.Data.Queue)
		}
		var iv ivView
		f.wf(t, admin, "GET", "/api/v1/interventions/discount_request", "", 200, &iv)
		if iv.Queue != "Support" {
			t.Errorf("intervention queue after rename = %q", iv.Queue)
		}
		f.wf(t, admin, "DELETE", "/api/v1/queues/"+url.PathEscape("Sales EU"), "", 200, nil)
		if code, _, b := do(t, "GET", f.srv.base+"/api/v1/queues/Inbox", admin, nil, ""); code != http.StatusNotFound {
			t.Errorf("GET old name: %d %s", code, b)
		}
	})
}

// TestSettingsGRPC: the same services over gRPC, with an explicit field
// mask, and the admin-only policy.
func TestSettingsGRPC(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dburl string) {
		f := newFixture(t, dburl, finalAnswer)
		admin := settingsAdmin(t, f)
		conn, err := grpc.NewClient(f.srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		ivs := v1.NewInterventionServiceClient(conn)
		as := func(token string) context.Context {
			return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
		}

		iv, err := ivs.UpdateIntervention(as(admin), &v1.UpdateInterventionRequest{
			Intervention: &v1.Intervention{Name: "discount_request", Title: "New title", RemoteEnabled: false},
			UpdateMask:   &fieldmaskpb.FieldMask{Paths: []string{"remote_enabled"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if iv.GetTitle() != "Discount request" || iv.GetRemoteEnabled() {
			t.Errorf("after masked update: %v", iv)
		}
		// No mask: the fields set in the message.
		iv, err = ivs.UpdateIntervention(as(admin), &v1.UpdateInterventionRequest{
			Intervention: &v1.Intervention{Name: "discount_request", Title: "New title"},
		})
		if err != nil || iv.GetTitle() != "New title" || len(iv.GetFields()) != 2 {
			t.Errorf("after update without mask: %v %v", iv, err)
		}
		_, err = ivs.ListInterventions(as(admin), &v1.ListInterventionsRequest{PageToken: "AAAA"})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("bad page token: %v", err)
		}

		// A staff user's token with workflow:write is not an admin's.
		u := f.db.User.Create().SetEmail("bob@tickiti.test").SetName("Bob").SaveX(context.Background())
		staff := newToken(t, f.db, &u.ID, auth.WorkflowWrite)
		if _, err := ivs.GetIntervention(as(staff), &v1.GetInterventionRequest{Name: "discount_request"}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("staff user: %v", err)
		}
		reader := newToken(t, f.db, nil, auth.WorkflowRead)
		if _, err := ivs.GetIntervention(as(reader), &v1.GetInterventionRequest{Name: "discount_request"}); err != nil {
			t.Errorf("workflow:read get: %v", err)
		}
		if _, err := ivs.DisableIntervention(as(reader), &v1.DisableInterventionRequest{Name: "discount_request"}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("workflow:read disable: %v", err)
		}
	})
}

// TestSettingsRotateSigningSecret: an admin turns signing on over REST; the
// secret is shown once and the next epilog call verifies with it.
func TestSettingsRotateSigningSecret(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dburl string) {
		f := newFixture(t, dburl, finalAnswer)
		admin := settingsAdmin(t, f)

		var rotated struct {
			Intervention  map[string]any `json:"intervention"`
			SigningSecret string         `json:"signing_secret"`
		}
		f.wf(t, admin, "POST", "/api/v1/interventions/discount_request:rotateSigningSecret", `{"overlap": "3600s"}`, 200, &rotated)
		secret := rotated.SigningSecret
		if !strings.HasPrefix(secret, "whsec_") || rotated.Intervention["signing_secret_set"] != true {
			t.Fatalf("rotate = %+v", rotated)
		}
		if b := f.wf(t, admin, "GET", "/api/v1/interventions/discount_request", "", 200, nil); strings.Contains(string(b), secret) {
			t.Errorf("GET shows the secret: %s", b)
		}
		f.wf(t, admin, "POST", "/api/v1/interventions/discount_request:rotateSigningSecret", `{"overlap": "-1s"}`, 422, nil)

		f.mustCreate(t)
		if code, body := f.submit(t, "100001", `{"data": {"accept": true}}`); code != http.StatusOK {
			t.Fatalf("submit: %d %s", code, body)
		}
		f.waitFor(t, 100001, "completion", func(v ticketView) bool { return v.Data.Intervention.Status == "completed" })
		c := f.remote.received()[0]
		if err := webhook.Verify(secret, c.header, c.body, time.Minute); err != nil {
			t.Errorf("signature: %v (headers %v)", err, c.header)
		}
		var events struct {
			AuditEvents []struct {
				Action  string `json:"action"`
				Changes []struct {
					Old, New any
				} `json:"changes"`
			} `json:"audit_events"`
		}
		auditor := newToken(t, f.db, nil, auth.WorkflowRead)
		b := f.wf(t, auditor, "GET", "/api/v1/audit_events?resource=intervention", "", 200, &events)
		if strings.Contains(string(b), secret) || len(events.AuditEvents) == 0 || events.AuditEvents[0].Action != "rotate_signing_secret" {
			t.Errorf("audit: %s", b)
		}
	})
}

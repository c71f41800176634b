package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/auditevent"
	"github.com/tickiti/tickiti/ent/ticket"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/service"
)

// operator is a principal acting without a user, as an operator's token.
var operator = &auth.Principal{TokenID: 1, Abilities: []string{auth.WorkflowWrite}}

// fieldErrors is in identity_test.go.

func wfReason(err error) string {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return fmt.Sprint(err)
}

// TestSettingsPagination: every settings listing pages in creation order,
// and rows added between pages cause no gaps or repeats.
func TestSettingsPagination(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})
		addQueue := func(i int) {
			if _, err := svc.CreateQueue(ctx, operator, &v1.CreateQueueRequest{Queue: &v1.Queue{Name: fmt.Sprintf("Q%02d", i)}}); err != nil {
				t.Fatal(err)
			}
		}
		addTemplate := func(i int) {
			req := &v1.CreateTemplateRequest{Template: &v1.Template{Identifier: fmt.Sprintf("t%02d.private", i), Body: "x"}}
			if _, err := svc.CreateTemplate(ctx, operator, req); err != nil {
				t.Fatal(err)
			}
		}
		addIntervention := func(i int) {
			req := &v1.CreateInterventionRequest{Intervention: &v1.Intervention{Name: fmt.Sprintf("i%02d", i), Title: "I", Queue: "Q00"}}
			if _, err := svc.CreateIntervention(ctx, operator, req); err != nil {
				t.Fatal(err)
			}
		}
		listings := []struct {
			name string
			add  func(int)
			list func(size int32, token string) ([]string, string, error)
		}{
			{"queues", addQueue, func(size int32, token string) ([]string, string, error) {
				r, err := svc.ListQueues(ctx, &v1.ListQueuesRequest{PageSize: size, PageToken: token})
				var names []string
				for _, q := range r.GetQueues() {
					names = append(names, q.GetName())
				}
				return names, r.GetNextPageToken(), err
			}},
			{"templates", addTemplate, func(size int32, token string) ([]string, string, error) {
				r, err := svc.ListTemplates(ctx, &v1.ListTemplatesRequest{PageSize: size, PageToken: token})
				var names []string
				for _, x := range r.GetTemplates() {
					names = append(names, strings.TrimSuffix(x.GetIdentifier(), ".private"))
				}
				return names, r.GetNextPageToken(), err
			}},
			{"interventions", addIntervention, func(size int32, token string) ([]string, string, error) {
				r, err := svc.ListInterventions(ctx, &v1.ListInterventionsRequest{PageSize: size, PageToken: token})
				var names []string
				for _, x := range r.GetInterventions() {
					names = append(names, x.GetName())
				}
				return names, r.GetNextPageToken(), err
			}},
		}
		var tokens []string
		for _, l := range listings {
			for i := range 5 {
				l.add(i)
			}
			var seen []string
			token, added := "", 5
			for pages := 0; ; pages++ {
				names, next, err := l.list(2, token)
				if err != nil {
					t.Fatalf("%s: %v", l.name, err)
				}
				seen = append(seen, names...)
				if next == "" {
					break
				}
				tokens = append(tokens, next)
				if pages < 2 { // rows arrive while the client pages
					l.add(added)
					added++
				}
				token = next
			}
			var want []string
			for i := range added {
				want = append(want, fmt.Sprintf("%s%02d", map[string]string{"queues": "Q", "templates": "t", "interventions": "i"}[l.name], i))
			}
			if !reflect.DeepEqual(seen, want) {
				t.Errorf("%s: paged %v, want %v", l.name, seen, want)
			}
			// The default page holds them all.
			if names, next, _ := l.list(0, ""); len(names) != added || next != "" {
				t.Errorf("%s: default page: %d rows, next %q", l.name, len(names), next)
			}
		}

		// A token continues only the listing it came from.
		_, err := svc.ListInterventions(ctx, &v1.ListInterventionsRequest{PageToken: tokens[0]})
		if f := fieldErrors(t, err); len(f["page_token"]) != 1 {
			t.Errorf("queue token for interventions: %v", f)
		}
		_, err = svc.ListTemplates(ctx, &v1.ListTemplatesRequest{PageToken: tokens[2], Intervention: "t01"})
		if f := fieldErrors(t, err); len(f["page_token"]) != 1 {
			t.Errorf("template token with another filter: %v", f)
		}
		for _, bad := range []string{"x", "AAAAAAAAAAAAAAAAAAAAAA", "%%%"} {
			_, err = svc.ListQueues(ctx, &v1.ListQueuesRequest{PageToken: bad})
			if f := fieldErrors(t, err); len(f["page_token"]) != 1 {
				t.Errorf("token %q: %v", bad, f)
			}
		}
		_, err = svc.ListQueues(ctx, &v1.ListQueuesRequest{PageSize: -1})
		if f := fieldErrors(t, err); len(f["page_size"]) != 1 {
			t.Errorf("negative page size: %v", f)
		}
	})
}

func TestUpdateInterventionRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})
		apply(t, svc, base)
		update := func(iv *v1.Intervention, paths ...string) (*v1.Intervention, error) {
			iv.Name = "a"
			req := &v1.UpdateInterventionRequest{Intervention: iv}
			if paths != nil {
				req.UpdateMask = &fieldmaskpb.FieldMask{Paths: paths}
			}
			return svc.UpdateIntervention(ctx, operator, req)
		}

		_, err := update(&v1.Intervention{RemoteTimeout: durationpb.New(1500 * time.Millisecond)})
		if f := fieldErrors(t, err); !reflect.DeepEqual(f, map[string][]string{"remote_timeout": {"must be whole seconds, not 1.5s"}}) {
			t.Errorf("fraction: %v", f)
		}
		_, err = update(&v1.Intervention{Fields: []*v1.UIField{{Type: "checkbox", Name: "ok", Min: new(1.0)}}})
		if f := fieldErrors(t, err); len(f["fields[0].min"]) != 1 {
			t.Errorf("min on a checkbox: %v", f)
		}
		_, err = update(&v1.Intervention{}, "queue")
		if f := fieldErrors(t, err); !reflect.DeepEqual(f["queue"], []string{"is required"}) {
			t.Errorf("queue cleared: %v", f)
		}
		// "*" sets every updatable field: the ones left unset are reset.
		iv, err := update(&v1.Intervention{Title: "All", Queue: "Inbox"}, "*")
		if err != nil {
			t.Fatal(err)
		}
		if iv.GetTitle() != "All" || iv.GetRemoteEnabled() || iv.GetRemoteEpilogUrl() != "" || iv.GetRemoteTimeout().AsDuration() != 10*time.Second || !iv.GetRemoteTokenSet() {
			t.Errorf("after *: %v", iv)
		}
		// Nothing to change writes nothing, not even an audit record.
		before := db.AuditEvent.Query().CountX(ctx)
		if _, err := update(&v1.Intervention{Title: "All"}); err != nil {
			t.Fatal(err)
		}
		if after := db.AuditEvent.Query().CountX(ctx); after != before {
			t.Errorf("an update changing nothing wrote %d audit records", after-before)
		}
		if _, err := update(&v1.Intervention{}, "title", "name", "create_time"); wfReason(err) != apierr.ValidationFailed {
			t.Errorf("empty title: %v", err)
		}
	})
}

// TestApplySettingsAudit: applying a file records each creation and update
// with old → new values, by "cli"; secrets are never written.
func TestApplySettingsAudit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})
		token := apply(t, svc, base).Items[2].RemoteToken
		apply(t, svc, base) // unchanged: nothing recorded
		apply(t, svc, strings.Replace(base, "title: A", "title: B", 1))

		evs := db.AuditEvent.Query().Order(ent.Asc(auditevent.FieldID)).AllX(ctx)
		var got []string
		for _, ev := range evs {
			got = append(got, ev.Actor+" "+ev.Action+" "+ev.Resource+" "+ev.ResourceName)
			raw, _ := json.Marshal(ev.Changes)
			if strings.Contains(string(raw), token) {
				t.Errorf("the remote token is in the audit log: %s", raw)
			}
		}
		want := []string{"cli create queue Inbox", "cli create template a.private", "cli create intervention a", "cli update intervention a"}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("events = %v, want %v", got, want)
		}
		raw, _ := json.Marshal(evs[2].Changes)
		if want := `[{"field":"title","new":"A"},{"field":"queue","new":"Inbox"},{"field":"enabled","new":true},` +
			`{"field":"remote_enabled","new":true},{"field":"remote_epilog_url","new":"https://remote.example/epilog"},` +
			`{"field":"remote_timeout","new":10},{"field":"remote_token","new":"[redacted]"}]`; string(raw) != want {
			t.Errorf("create changes = %s\nwant %s", raw, want)
		}
		raw, _ = json.Marshal(evs[3].Changes)
		if want := `[{"field":"title","old":"A","new":"B"}]`; string(raw) != want {
			t.Errorf("update changes = %s, want %s", raw, want)
		}
	})
}

// TestDeleteQueueInUse: a queue holding tickets or used by an intervention
// stays; open-ticket counts leave closed tickets out.
func TestDeleteQueueInUse(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})
		apply(t, svc, base)
		inbox := db.Queue.Query().OnlyX(ctx)
		c := db.Contact.Create().SetEmail("c@example.com").SaveX(ctx)
		db.Ticket.Create().SetQueueID(inbox.ID).SetContactID(c.ID).ExecX(ctx)
		db.Ticket.Create().SetQueueID(inbox.ID).SetContactID(c.ID).SetStatus(ticket.StatusClosed).ExecX(ctx)
		if q, err := svc.GetQueue(ctx, "Inbox"); err != nil || q.GetOpenTicketCount() != 1 {
			t.Errorf("GetQueue = %v, %v; want 1 open ticket", q, err)
		}
		_, err := svc.DeleteQueue(ctx, operator, "Inbox")
		if wfReason(err) != apierr.Conflict || !strings.Contains(err.Error(), "2 ticket(s) are in it and 1 intervention(s)") {
			t.Errorf("delete Inbox: %v", err)
		}
		if _, err := svc.DeleteQueue(ctx, operator, "Nope"); wfReason(err) != apierr.NotFound {
			t.Errorf("delete unknown: %v", err)
		}
		// Renaming onto a taken name is a conflict.
		svc.CreateQueue(ctx, operator, &v1.CreateQueueRequest{Queue: &v1.Queue{Name: "Other"}})
		_, err = svc.UpdateQueue(ctx, operator, &v1.UpdateQueueRequest{Name: "Other", Queue: &v1.Queue{Name: "Inbox"}})
		if wfReason(err) != apierr.Conflict {
			t.Errorf("rename onto Inbox: %v", err)
		}
		if _, err := svc.DeleteQueue(ctx, operator, "Other"); err != nil {
			t.Errorf("delete Other: %v", err)
		}
	})
}

// TestUpdateInterventionConcurrent: two updates of different fields at
// once both land; neither writes back the other's old value.
func TestUpdateInterventionConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})
		apply(t, svc, base)
		for i := range 5 {
			title, timeout := fmt.Sprintf("Title %d", i), time.Duration(20+i)*time.Second
			errs := make(chan error, 2)
			go func() {
				_, err := svc.UpdateIntervention(ctx, operator, &v1.UpdateInterventionRequest{
					Intervention: &v1.Intervention{Name: "a", Title: title}})
				errs <- err
			}()
			go func() {
				_, err := svc.UpdateIntervention(ctx, operator, &v1.UpdateInterventionRequest{
					Intervention: &v1.Intervention{Name: "a", RemoteTimeout: durationpb.New(timeout)}})
				errs <- err
			}()
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			iv, err := svc.GetIntervention(ctx, "a")
			if err != nil || iv.GetTitle() != title || iv.GetRemoteTimeout().AsDuration() != timeout {
				t.Fatalf("round %d: %v %v", i, iv, err)
			}
		}
	})
}

// TestEnableAndDeletePrivateTemplateRace: enabling an intervention and
// deleting its .private template at the same time never leave it enabled
// without the template.
func TestEnableAndDeletePrivateTemplateRace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})
		apply(t, svc, "queues: [{name: Inbox}]\ninterventions:\n  - {name: a, title: A, queue: Inbox, enabled: false}\n")
		for i := range 30 {
			if _, err := svc.CreateTemplate(ctx, operator, &v1.CreateTemplateRequest{Template: &v1.Template{Identifier: "a.private", Body: "x"}}); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 2)
			go func() { done <- must2(svc.SetInterventionEnabled(ctx, operator, "a", true)) }()
			go func() { done <- must2(svc.DeleteTemplate(ctx, operator, "a.private")) }()
			for range 2 {
				if err := <-done; err != nil && wfReason(err) != apierr.Conflict {
					t.Fatalf("round %d: %v", i, err)
				}
			}
			iv, err := svc.GetIntervention(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			_, tmplErr := svc.GetTemplate(ctx, "a.private")
			if iv.Enabled && tmplErr != nil {
				t.Fatalf("round %d: enabled without its .private template (%v)", i, tmplErr)
			}
			// Back to the start: disabled, no template.
			if _, err := svc.SetInterventionEnabled(ctx, operator, "a", false); err != nil {
				t.Fatal(err)
			}
			if tmplErr == nil {
				if _, err := svc.DeleteTemplate(ctx, operator, "a.private"); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// TestDeleteQueueWhileUsed: an intervention created in or moved to a queue
// that is being deleted gets a 422 for the missing queue, or the deletion a
// 409; never an internal error or a wrong "already exists".
func TestDeleteQueueWhileUsed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		svc := service.New(dbtest.Open(t, url), service.Options{})
		apply(t, svc, "queues: [{name: Inbox}]\ninterventions:\n  - {name: a, title: A, queue: Inbox, enabled: false}\n")
		for i := range 20 {
			q := fmt.Sprint("Q", i)
			if _, err := svc.CreateQueue(ctx, operator, &v1.CreateQueueRequest{Queue: &v1.Queue{Name: q}}); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 3)
			go func() {
				done <- must2(svc.UpdateIntervention(ctx, operator, &v1.UpdateInterventionRequest{
					Intervention: &v1.Intervention{Name: "a", Queue: q}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"queue"}}}))
			}()
			go func() {
				done <- must2(svc.CreateIntervention(ctx, operator, &v1.CreateInterventionRequest{
					Intervention: &v1.Intervention{Name: fmt.Sprint("n", i), Title: "N", Queue: q}}))
			}()
			go func() { done <- must2(svc.DeleteQueue(ctx, operator, q)) }()
			for range 3 {
				err := <-done
				var ae *apierr.Error
				switch {
				case err == nil:
				case errors.As(err, &ae) && ae.Reason == apierr.ValidationFailed && len(ae.Fields["queue"]) == 1:
				case errors.As(err, &ae) && ae.Reason == apierr.Conflict && strings.Contains(ae.Message, "queue"):
				default:
					t.Fatalf("round %d: %v", i, err)
				}
			}
		}
	})
}

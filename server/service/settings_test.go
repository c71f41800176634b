package service_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tickiti/tickiti/ent/intervention"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/service"
	"github.com/tickiti/tickiti/server/settings"
	"github.com/tickiti/tickiti/server/store"
)

func parse(t *testing.T, text string) *settings.File {
	t.Helper()
	f, err := settings.Parse("s.yaml", []byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func apply(t *testing.T, svc *service.Service, text string) *settings.Report {
	t.Helper()
	rep, err := svc.ApplySettings(context.Background(), parse(t, text))
	if err != nil {
		t.Fatalf("ApplySettings: %v", err)
	}
	return rep
}

func actions(rep *settings.Report) []string {
	var out []string
	for _, it := range rep.Items {
		out = append(out, it.Kind+" "+it.Name+" "+string(it.Action))
	}
	return out
}

func getIntervention(t *testing.T, db *store.DB, name string) (title, token string, updated time.Time) {
	t.Helper()
	iv := db.Intervention.Query().Where(intervention.Name(name)).OnlyX(context.Background())
	return iv.Title, iv.RemoteToken, iv.UpdatedAt
}

const base = `
queues: [{name: Inbox}]
templates:
  - {identifier: a.private, body: "Request {{uid}}"}
interventions:
  - {name: a, title: A, queue: Inbox, remote: {epilog_url: "https://remote.example/epilog"}}
`

func TestApplySettingsTokens(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})

		rep := apply(t, svc, base)
		generated := rep.Items[2].RemoteToken
		if len(generated) != 40 {
			t.Fatalf("generated token %q, want 40 characters", generated)
		}
		if _, token, _ := getIntervention(t, db, "a"); token != generated {
			t.Errorf("stored token %q, want the reported %q", token, generated)
		}

		// A fixed token replaces it and is not echoed.
		const fixed = "remote-secret-0123456789"
		withToken := `
interventions:
  - {name: a, title: A, queue: Inbox, remote: {epilog_url: "https://remote.example/epilog", token: ` + fixed + `}}
`
		rep = apply(t, svc, withToken)
		if it := rep.Items[0]; it.Action != settings.Updated || !reflect.DeepEqual(it.Changed, []string{"remote.token"}) || it.RemoteToken != "" {
			t.Errorf("item = %+v, want updated (remote.token) with nothing to show", it)
		}
		if _, token, _ := getIntervention(t, db, "a"); token != fixed {
			t.Errorf("token %q, want %q", token, fixed)
		}
		if rep := apply(t, svc, withToken); rep.Count(settings.Unchanged) != 1 {
			t.Errorf("re-applying the fixed token: %v", actions(rep))
		}

		// Without a token in the file the stored one stays.
		if rep := apply(t, svc, base); rep.Count(settings.Unchanged) != 3 || rep.Items[2].RemoteToken != "" {
			t.Errorf("re-applying without a token: %v", actions(rep))
		}
		if _, token, _ := getIntervention(t, db, "a"); token != fixed {
			t.Errorf("token %q, want %q kept", token, fixed)
		}

		// No remote, no token; enabling the remote later generates one.
		rep = apply(t, svc, "interventions:\n  - {name: b, title: B, queue: Inbox, enabled: false}\n")
		if rep.Items[0].Action != settings.Created || rep.Items[0].RemoteToken != "" {
			t.Errorf("b without remote: %+v", rep.Items[0])
		}
		rep = apply(t, svc, "interventions:\n  - {name: b, title: B, queue: Inbox, enabled: false, remote: {epilog_url: 'http://r/e', timeout: 5s}}\n")
		it := rep.Items[0]
		if it.Action != settings.Updated || len(it.RemoteToken) != 40 ||
			!reflect.DeepEqual(it.Changed, []string{"remote.enabled", "remote.epilog_url", "remote.timeout", "remote.token"}) {
			t.Errorf("b with remote: %+v", it)
		}
	})
}

func TestApplySettingsUsesStoredQueueAndTemplate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})
		db.Queue.Create().SetName("Sales").ExecX(ctx)
		db.Template.Create().SetIdentifier("quote.private").SetBody("Quote {{uid}}").ExecX(ctx)

		rep := apply(t, svc, "interventions:\n  - {name: quote, title: Quote, queue: Sales}\n")
		if got := actions(rep); !reflect.DeepEqual(got, []string{"intervention quote created"}) {
			t.Errorf("report = %v", got)
		}
		iv := db.Intervention.Query().Where(intervention.Name("quote")).WithQueue().OnlyX(ctx)
		if iv.Edges.Queue.Name != "Sales" || iv.RemoteEnabled || iv.RemoteToken != "" || iv.Fields == nil {
			t.Errorf("intervention = %+v", iv)
		}

		// A template update reports the body and only touches that row.
		rep = apply(t, svc, "templates:\n  - {identifier: quote.private, body: 'New quote {{uid}}'}\n")
		if it := rep.Items[0]; it.Action != settings.Updated || !reflect.DeepEqual(it.Changed, []string{"body"}) {
			t.Errorf("template item = %+v", it)
		}
	})
}

func TestApplySettingsRefusesWithoutWriting(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})
		apply(t, svc, base)
		title, token, updated := getIntervention(t, db, "a")

		// A valid change to a and a broken new intervention: neither lands.
		f := parse(t, `
queues: [{name: Other}]
interventions:
  - {name: a, title: Changed, queue: Inbox}
  - name: b
    title: B
    queue: Missing
`)
		_, err := svc.ApplySettings(ctx, f)
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Reason != apierr.ValidationFailed {
			t.Fatalf("err = %v, want validation_failed", err)
		}
		want := map[string][]string{
			"interventions[1].queue": {`line 7: there is no queue "Missing": declare it under queues, or name an existing queue`},
			"interventions[1].name": {"line 5: the enabled intervention b needs the template b.private " +
				"(it is rendered as a staff note on every new ticket): declare it under templates, or set enabled: false"},
		}
		if !reflect.DeepEqual(ae.Fields, want) {
			t.Errorf("fields = %#v\nwant %#v", ae.Fields, want)
		}
		if n := db.Queue.Query().CountX(ctx); n != 1 {
			t.Errorf("%d queues, want 1: the queue Other must not be created", n)
		}
		if t2, tok2, up2 := getIntervention(t, db, "a"); t2 != title || tok2 != token || !up2.Equal(updated) {
			t.Errorf("intervention a was changed: %q %v", t2, up2)
		}

		// A File built in code is validated too.
		_, err = svc.ApplySettings(ctx, &settings.File{Queues: []settings.Queue{{Name: ""}}})
		if !errors.As(err, &ae) || !reflect.DeepEqual(ae.Fields, map[string][]string{"queues[0].name": {"is required"}}) {
			t.Errorf("err = %v", err)
		}
	})
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/intervention"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/store"
	"github.com/tickiti/tickiti/server/uifield"
)

// run executes the real command tree on the database at url.
func run(t *testing.T, url string, args ...string) (stdout string, err error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"--db", url}, args...))
	err = root.ExecuteContext(context.Background())
	return out.String(), err
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const example = "../../examples/discount_request.yaml"

var tokenLine = regexp.MustCompile(`(?m)^remote token for discount_request: ([A-Za-z0-9]{40}) — shown once, store it in your remote system$`)

// snapshot is every settings row with its update time.
type snapshot struct {
	queues        []*ent.Queue
	templates     []*ent.Template
	interventions []*ent.Intervention
}

func snap(t *testing.T, db *store.DB) snapshot {
	t.Helper()
	ctx := context.Background()
	return snapshot{
		queues:        db.Queue.Query().Order(ent.Asc("id")).AllX(ctx),
		templates:     db.Template.Query().Order(ent.Asc("id")).AllX(ctx),
		interventions: db.Intervention.Query().Order(ent.Asc("id")).AllX(ctx),
	}
}

func (s snapshot) counts() [3]int {
	return [3]int{len(s.queues), len(s.templates), len(s.interventions)}
}

func TestInterventionApply(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)

		out, err := run(t, url, "intervention", "apply", "-f", example)
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		m := tokenLine.FindAllStringSubmatch(out, -1)
		if len(m) != 1 {
			t.Fatalf("want one remote token line, got output:\n%s", out)
		}
		token := m[0][1]
		for _, want := range []string{
			"queue Inbox: created\n", "template discount_request.private: created\n",
			"intervention discount_request: created\n", "5 created, 0 updated, 0 unchanged",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}

		first := snap(t, db)
		if got := first.counts(); got != [3]int{1, 3, 1} {
			t.Fatalf("rows (queues, templates, interventions) = %v, want [1 3 1]", got)
		}
		iv := db.Intervention.Query().Where(intervention.Name("discount_request")).WithQueue().OnlyX(ctx)
		if iv.Title != "Discount request" || !iv.Enabled || !iv.RemoteEnabled ||
			iv.RemoteEpilogURL != "https://your-system/api/interventions/epilog" || iv.RemoteTimeoutSeconds != 10 ||
			iv.Edges.Queue.Name != "Inbox" || iv.RemoteToken != token {
			t.Errorf("intervention = %+v (queue %q), want the example's values and the printed token", iv, iv.Edges.Queue.Name)
		}
		wantFields := []uifield.Field{
			{Type: "text", Name: "order_price", Label: "Order price (net) {{currency}}"},
			{Type: "checkbox", Name: "accept", Label: "Accept this discount?"},
		}
		if !uifield.Equal(iv.Fields, wantFields) {
			t.Errorf("fields = %+v, want %+v", iv.Fields, wantFields)
		}
		for _, tm := range first.templates {
			if tm.Identifier == "discount_request.final" && tm.Body != "Your discount is confirmed. {{ticket_audit}}" {
				t.Errorf("final body = %q", tm.Body)
			}
		}

		// Time moves on, so a write would show in updated_at.
		time.Sleep(20 * time.Millisecond)
		out, err = run(t, url, "intervention", "apply", "-f", example)
		if err != nil {
			t.Fatalf("apply again: %v", err)
		}
		if !strings.Contains(out, "0 created, 0 updated, 5 unchanged") || strings.Contains(out, "remote token") {
			t.Errorf("apply again:\n%s\nwant everything unchanged and no token", out)
		}
		second := snap(t, db)
		sameRows(t, first, second)
		if got := second.interventions[0].RemoteToken; got != token {
			t.Errorf("token changed on re-apply: %q, want %q", got, token)
		}

		// A new title updates the intervention, and only it.
		data, err := os.ReadFile(example)
		if err != nil {
			t.Fatal(err)
		}
		changed := strings.Replace(string(data), "title: Discount request", "title: Discount approval", 1)
		time.Sleep(20 * time.Millisecond)
		out, err = run(t, url, "intervention", "apply", "-f", writeFile(t, "changed.yaml", changed))
		if err != nil {
			t.Fatalf("apply changed: %v", err)
		}
		if !strings.Contains(out, "intervention discount_request: updated (title)\n") ||
			!strings.Contains(out, "0 created, 1 updated, 4 unchanged") || strings.Contains(out, "remote token") {
			t.Errorf("apply changed:\n%s", out)
		}
		third := snap(t, db)
		sameRows(t, snapshot{queues: first.queues, templates: first.templates}, snapshot{queues: third.queues, templates: third.templates})
		iv3 := third.interventions[0]
		if iv3.Title != "Discount approval" || !iv3.UpdatedAt.After(second.interventions[0].UpdatedAt) || iv3.RemoteToken != token {
			t.Errorf("after the title change: title %q, updated_at %v (was %v), token kept %v",
				iv3.Title, iv3.UpdatedAt, second.interventions[0].UpdatedAt, iv3.RemoteToken == token)
		}
	})
}

// sameRows fails when any row differs, updated_at included.
func sameRows(t *testing.T, a, b snapshot) {
	t.Helper()
	if a.counts() != b.counts() {
		t.Fatalf("rows %v, then %v", a.counts(), b.counts())
	}
	for i := range a.queues {
		if !a.queues[i].UpdatedAt.Equal(b.queues[i].UpdatedAt) {
			t.Errorf("queue %s was written", a.queues[i].Name)
		}
	}
	for i := range a.templates {
		if !a.templates[i].UpdatedAt.Equal(b.templates[i].UpdatedAt) || a.templates[i].Body != b.templates[i].Body {
			t.Errorf("template %s was written", a.templates[i].Identifier)
		}
	}
	for i := range a.interventions {
		if !a.interventions[i].UpdatedAt.Equal(b.interventions[i].UpdatedAt) {
			t.Errorf("intervention %s was written", a.interventions[i].Name)
		}
	}
}

func TestInterventionApplyBadFiles(t *testing.T) {
	// Each file also declares a valid queue and template, which must not
	// be created either: nothing is applied when anything is wrong.
	const head = "queues: [{name: Inbox}]\ntemplates:\n  - {identifier: ok.private, body: \"Hello {{uid}}\"}\n"
	for _, tc := range []struct{ name, body, want string }{
		{"unknown key",
			head + "interventions:\n  - name: ok\n    title: OK\n    queue: Inbox\n    colour: red\n",
			"bad.yaml: line 8: interventions[0].colour: unknown field; allowed: name, title, queue, enabled, remote, fields"},
		{"bad name",
			head + "interventions:\n  - {name: Discount Request, title: X, queue: Inbox}\n",
			`bad.yaml: line 5: interventions[0].name: "Discount Request" must contain only lowercase letters, digits and _`},
		{"timeout 0s",
			head + "interventions:\n  - name: ok\n    title: OK\n    queue: Inbox\n    remote:\n      epilog_url: https://remote.example/epilog\n      timeout: 0s\n",
			"bad.yaml: line 10: interventions[0].remote.timeout: must be between 1s and 60s, not 0s"},
		{"missing private template",
			head + "interventions:\n  - {name: other, title: Other, queue: Inbox}\n",
			"bad.yaml: line 5: interventions[0].name: the enabled intervention other needs the template other.private"},
		{"unknown queue",
			head + "interventions:\n  - name: ok\n    title: OK\n    queue: Sales\n",
			`bad.yaml: line 7: interventions[0].queue: there is no queue "Sales"`},
		{"template does not parse",
			"queues: [{name: Inbox}]\ntemplates:\n  - identifier: ok.private\n    body: \"Hello {{#uid}}\"\n",
			"bad.yaml: line 4: templates[0].body: is not a valid Mustache template: line 1: Section uid has no closing tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, url string) {
				db := dbtest.Open(t, url)
				out, err := run(t, url, "intervention", "apply", "-f", writeFile(t, "bad.yaml", tc.body))
				if err == nil {
					t.Fatalf("apply accepted the file; output:\n%s", out)
				}
				if !strings.Contains(err.Error(), tc.want) || !strings.HasSuffix(err.Error(), "\nnothing was applied") {
					t.Errorf("error:\n%v\nwant it to contain:\n%s\nand end with \"nothing was applied\"", err, tc.want)
				}
				if out != "" {
					t.Errorf("stdout = %q, want nothing", out)
				}
				if got := snap(t, db).counts(); got != [3]int{} {
					t.Errorf("rows (queues, templates, interventions) = %v, want none", got)
				}
			})
		})
	}
}

func TestInterventionApplyMissingFile(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "t.db")
	_, err := run(t, url, "intervention", "apply", "-f", filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("err = %v, want one naming the file", err)
	}
	if _, err := run(t, url, "intervention", "apply"); err == nil || !strings.Contains(err.Error(), `"file"`) {
		t.Errorf("without -f: err = %v, want the required flag named", err)
	}
}

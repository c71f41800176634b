package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/settings"
)

// TestInterventionExportRoundTrip: apply the example, export, apply the
// export: everything is unchanged, no row is written, no token is printed
// or exported, and the export parses back to what was exported.
func TestInterventionExportRoundTrip(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		db := dbtest.Open(t, url)
		out, err := run(t, url, "intervention", "apply", "-f", example)
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		token := tokenLine.FindStringSubmatch(out)[1]
		// A second queue and intervention with every kind of field.
		extra := `queues: [{name: Sales}]
templates:
  - identifier: refund.private
    body: |
      Refund {{uid}}
      {{#note}}Note: {{note}}{{/note}}
interventions:
  - name: refund
    title: Refund
    queue: Sales
    enabled: false
    fields:
      - {type: number, name: amount, label: "Amount {{currency}}", required: true, help: "Net", default: 10, min: 0, max: 500}
      - {type: select, name: reason, options: [{value: late, label: Late}, {value: broken, label: Broken}]}
      - {type: date, name: until, default: "2025-01-31"}
      - {type: textarea, name: note}
      - {type: email, name: contact}
`
		if _, err := run(t, url, "intervention", "apply", "-f", writeFile(t, "extra.yaml", extra)); err != nil {
			t.Fatalf("apply extra: %v", err)
		}
		before := snap(t, db)

		exported, err := run(t, url, "intervention", "export")
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		if strings.Contains(exported, token) || strings.Contains(exported, "token:") {
			t.Errorf("the export holds a token:\n%s", exported)
		}
		time.Sleep(20 * time.Millisecond)
		out, err = run(t, url, "intervention", "apply", "-f", writeFile(t, "export.yaml", exported))
		if err != nil {
			t.Fatalf("apply the export: %v\n%s", err, exported)
		}
		if !strings.Contains(out, "0 created, 0 updated, 8 unchanged") || strings.Contains(out, "remote token") {
			t.Errorf("apply the export:\n%s", out)
		}
		sameRows(t, before, snap(t, db))
		if got := snap(t, db).interventions[0].RemoteToken; got != token {
			t.Errorf("token after the round trip %q, want %q", got, token)
		}

		// The export parses back to itself, and a second export is the same.
		f, err := settings.Parse("export.yaml", []byte(exported))
		if err != nil {
			t.Fatal(err)
		}
		again, _ := settings.Marshal(f)
		if string(again) != exported {
			t.Errorf("re-marshalled export differs:\n%s\nwant\n%s", again, exported)
		}
		if second, _ := run(t, url, "intervention", "export"); second != exported {
			t.Errorf("second export differs")
		}

		// One intervention: its queue and templates only.
		one, err := run(t, url, "intervention", "export", "refund")
		if err != nil {
			t.Fatal(err)
		}
		g, err := settings.Parse("one.yaml", []byte(one))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g.Queues, []settings.Queue{{Name: "Sales"}}) || len(g.Templates) != 1 ||
			len(g.Interventions) != 1 || g.Interventions[0].Name != "refund" || len(g.Interventions[0].Fields) != 5 {
			t.Errorf("export refund:\n%s", one)
		}
		if _, err := run(t, url, "intervention", "export", "nope"); err == nil || !strings.Contains(err.Error(), `"nope" not found`) {
			t.Errorf("export nope: %v", err)
		}
	})
}

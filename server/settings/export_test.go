package settings_test

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tickiti/tickiti/server/settings"
	"github.com/tickiti/tickiti/server/uifield"
)

// roundTrip marshals f, parses the output and wants f back.
func roundTrip(t *testing.T, f *settings.File) []byte {
	t.Helper()
	out, err := settings.Marshal(f)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	back, err := settings.Parse("export.yaml", out)
	if err != nil {
		t.Fatalf("Parse(Marshal(f)): %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back.Queues, f.Queues) || !reflect.DeepEqual(back.Templates, f.Templates) ||
		!reflect.DeepEqual(back.Interventions, f.Interventions) {
		t.Errorf("round trip changed the file:\n%+v\nwant\n%+v\nYAML:\n%s", back, f, out)
	}
	return out
}

func TestMarshalExample(t *testing.T) {
	data, err := os.ReadFile("../../examples/discount_request.yaml")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, mustParse(t, string(data)))
}

func TestMarshalEveryAttribute(t *testing.T) {
	lo, hi := 0.0, 99.5
	f := mustParse(t, `
queues: [{name: Inbox}, {name: "Sales: EU"}]
templates:
  - identifier: refund.private
    body: |
      Refund {{uid}}
        indented line
      trailing spaces   
  - {identifier: refund.public, body: "\nstarts with a newline"}
  - {identifier: refund.final, body: "'quoted' \"both\" #not a comment"}
interventions:
  - name: refund
    title: "Refund: yes/no"
    queue: "Sales: EU"
    enabled: false
    remote: {enabled: false, epilog_url: "http://remote.example/e?x=1", timeout: 60s}
    fields:
      - {type: number, name: amount, label: "Amount {{currency}}", required: true, help: "In {{currency}}.", default: 10, min: 0, max: 99.5}
      - type: select
        name: reason
        default: late
        options: [{value: late, label: Late}, {value: "7", label: "Seven"}]
      - {type: date, name: until, default: 2025-01-31}
      - {type: checkbox, name: ok, default: false}
      - {type: textarea, name: note}
      - {type: email, name: contact, default: "a@example.com"}
  - {name: plain, title: Plain, queue: Inbox}
`)
	iv := f.Interventions[0]
	want := []uifield.Field{
		{Type: "number", Name: "amount", Label: "Amount {{currency}}", Required: true, Help: "In {{currency}}.", Default: 10.0, Min: &lo, Max: &hi},
		{Type: "select", Name: "reason", Default: "late", Options: []uifield.Option{{Value: "late", Label: "Late"}, {Value: "7", Label: "Seven"}}},
		{Type: "date", Name: "until", Default: "2025-01-31"},
		{Type: "checkbox", Name: "ok", Default: false},
		{Type: "textarea", Name: "note"},
		{Type: "email", Name: "contact", Default: "a@example.com"},
	}
	if !uifield.Equal(iv.Fields, want) {
		t.Errorf("fields = %+v\nwant %+v", iv.Fields, want)
	}
	if iv.Enabled || iv.Remote.Enabled || iv.Remote.Timeout != time.Minute {
		t.Errorf("intervention = %+v", iv)
	}
	out := roundTrip(t, f)
	// The plain intervention has no remote block; enabled is explicit.
	if !strings.Contains(string(out), "  - name: plain\n    title: Plain\n    queue: Inbox\n    enabled: true\n") {
		t.Errorf("plain intervention written as:\n%s", out)
	}
}

func TestMarshalNeverWritesTokens(t *testing.T) {
	f := mustParse(t, "interventions:\n  - {name: a, title: A, queue: Q, remote: {epilog_url: 'https://x/y', token: secret-0123456789abcdef}}\n")
	out, err := settings.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "secret-0123456789abcdef") || strings.Contains(string(out), "token:") {
		t.Errorf("the token was written:\n%s", out)
	}
}

func TestParseFieldProblems(t *testing.T) {
	_, err := settings.Parse("x.yaml", []byte(`interventions:
  - name: a
    title: A
    queue: Q
    fields:
      - {type: number, name: n, min: 5, max: 1, colour: red}
      - {type: select, name: s, default: z, options: [{value: y, label: Y}]}
`))
	for _, want := range []string{
		"line 6: interventions[0].fields[0].colour: unknown field; allowed: type, name, label, required, help, default, min, max, options",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error:\n%v\nwant it to contain:\n%s", err, want)
		}
	}
	_, err = settings.Parse("x.yaml", []byte(`interventions:
  - name: a
    title: A
    queue: Q
    fields:
      - {type: number, name: n, min: 5, max: 1}
      - {type: select, name: s, default: z, options: [{value: y, label: Y}]}
`))
	for _, want := range []string{
		"line 6: interventions[0].fields[0].max: must not be less than min (5)",
		"line 7: interventions[0].fields[1].default: The default must be one of: y.",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error:\n%v\nwant it to contain:\n%s", err, want)
		}
	}
}

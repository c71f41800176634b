package settings_test

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tickiti/tickiti/server/settings"
	"github.com/tickiti/tickiti/server/uifield"
)

func TestParseExample(t *testing.T) {
	data, err := os.ReadFile("../../examples/discount_request.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := settings.Parse("examples/discount_request.yaml", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if want := []settings.Queue{{Name: "Inbox"}}; !reflect.DeepEqual(f.Queues, want) {
		t.Errorf("queues = %+v, want %+v", f.Queues, want)
	}
	var ids []string
	for _, tm := range f.Templates {
		ids = append(ids, tm.Identifier)
	}
	if want := []string{"discount_request.private", "discount_request.public", "discount_request.final"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("templates = %v, want %v", ids, want)
	}
	if got := f.Templates[0].Body; got != "Discount request {{uid}}: {{order_price}} {{currency}}" {
		t.Errorf("private body = %q", got)
	}
	want := settings.Intervention{
		Name: "discount_request", Title: "Discount request", Queue: "Inbox", Enabled: true,
		Remote: settings.Remote{Enabled: true, EpilogURL: "https://your-system/api/interventions/epilog", Timeout: 10 * time.Second},
		Fields: []settings.Field{
			{Type: uifield.Text, Name: "order_price", Label: "Order price (net) {{currency}}"},
			{Type: uifield.Checkbox, Name: "accept", Label: "Accept this discount?"},
		},
	}
	if len(f.Interventions) != 1 || !reflect.DeepEqual(f.Interventions[0], want) {
		t.Errorf("interventions = %+v\nwant %+v", f.Interventions, want)
	}
	if got := f.Line("interventions[0].remote.timeout"); got != 10 {
		t.Errorf("line of remote.timeout = %d, want 10", got)
	}
	if got := f.Line("interventions[0].fields[1].label"); got != 13 {
		t.Errorf("line of fields[1].label = %d, want 13", got)
	}
	// A key the file does not have is located at its closest parent.
	if got := f.Line("interventions[0].enabled"); got != 7 {
		t.Errorf("line of the absent enabled = %d, want 7 (the item)", got)
	}
}

func TestParseDefaults(t *testing.T) {
	f := mustParse(t, `
interventions:
  - {name: a, title: A, queue: Inbox}
  - {name: b, title: B, queue: Inbox, enabled: false, remote: {epilog_url: "http://remote/x"}}
  - {name: c, title: C, queue: Inbox, remote: {enabled: false, timeout: 60s, token: "0123456789abcdefXYZ"}}
`)
	a, b, c := f.Interventions[0], f.Interventions[1], f.Interventions[2]
	if !a.Enabled || a.Remote.Enabled || a.Remote.Timeout != 10*time.Second || a.Remote.EpilogURL != "" {
		t.Errorf("a = %+v: want enabled, remote disabled, timeout 10s", a)
	}
	if b.Enabled || !b.Remote.Enabled {
		t.Errorf("b = %+v: want disabled, and the remote block enabled by default", b)
	}
	if c.Remote.Enabled || c.Remote.Timeout != time.Minute || c.Remote.Token != "0123456789abcdefXYZ" {
		t.Errorf("c = %+v", c)
	}
}

func TestParseProblems(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // each must appear in the error
	}{
		{"unknown key", `
interventions:
  - name: a
    title: A
    queue: Inbox
    foo: 1
`, []string{"x.yaml: line 6: interventions[0].foo: unknown field; allowed: name, title, queue, enabled, remote, fields"}},
		{"unknown top-level key", "queue: [{name: Inbox}]\n", []string{"line 1: queue: unknown field; allowed: queues, templates, interventions"}},
		{"unknown remote key", "interventions:\n  - {name: a, title: A, queue: Q, remote: {url: x}}\n",
			[]string{"line 2: interventions[0].remote.url: unknown field"}},
		{"bad name", "interventions:\n  - {name: Discount-Request, title: A, queue: Q}\n",
			[]string{`line 2: interventions[0].name: "Discount-Request" must contain only lowercase letters, digits and _`}},
		{"duplicate name", "interventions:\n  - {name: a, title: A, queue: Q}\n  - {name: a, title: A, queue: Q}\n",
			[]string{`line 3: interventions[1].name: the intervention "a" is declared twice`}},
		{"missing title", "interventions:\n  - {name: a, queue: Q}\n", []string{"line 2: interventions[0].title: is required"}},
		{"missing queue", "interventions:\n  - {name: a, title: A}\n", []string{"line 2: interventions[0].queue: is required"}},
		{"timeout 0s", "interventions:\n  - name: a\n    title: A\n    queue: Q\n    remote:\n      epilog_url: https://x/y\n      timeout: 0s\n",
			[]string{"line 7: interventions[0].remote.timeout: must be between 1s and 60s, not 0s"}},
		{"timeout 61s", "interventions:\n  - {name: a, title: A, queue: Q, remote: {epilog_url: 'https://x', timeout: 61s}}\n",
			[]string{"interventions[0].remote.timeout: must be between 1s and 60s, not 1m1s"}},
		{"timeout fraction", "interventions:\n  - {name: a, title: A, queue: Q, remote: {epilog_url: 'https://x', timeout: 1500ms}}\n",
			[]string{"interventions[0].remote.timeout: must be whole seconds, not 1.5s"}},
		{"timeout without unit", "interventions:\n  - {name: a, title: A, queue: Q, remote: {epilog_url: 'https://x', timeout: 10}}\n",
			[]string{`interventions[0].remote.timeout: "10" is not a duration`}},
		{"epilog url required", "interventions:\n  - {name: a, title: A, queue: Q, remote: {enabled: true}}\n",
			[]string{"interventions[0].remote.epilog_url: is required when the remote is enabled"}},
		{"epilog url relative", "interventions:\n  - {name: a, title: A, queue: Q, remote: {epilog_url: /api/epilog}}\n",
			[]string{"interventions[0].remote.epilog_url: \"/api/epilog\" must be an absolute http:// or https:// URL"}},
		{"epilog url ftp", "interventions:\n  - {name: a, title: A, queue: Q, remote: {epilog_url: 'ftp://x/y'}}\n",
			[]string{"must be an absolute http:// or https:// URL"}},
		{"epilog url long", "interventions:\n  - {name: a, title: A, queue: Q, remote: {epilog_url: 'https://x/" + strings.Repeat("y", 2040) + "'}}\n",
			[]string{"interventions[0].remote.epilog_url: must not be longer than 2048 characters"}},
		{"epilog url malformed", "interventions:\n  - {name: a, title: A, queue: Q, remote: {epilog_url: 'https://x/%zz'}}\n",
			[]string{"interventions[0].remote.epilog_url: \"https://x/%zz\" is not a URL: invalid URL escape \"%zz\""}},
		{"epilog url credentials", "interventions:\n  - {name: a, title: A, queue: Q, remote: {epilog_url: 'https://me:s3cret@x/y'}}\n",
			[]string{"interventions[0].remote.epilog_url: \"https://me:xxxxx@x/y\" must not contain credentials"}},
		{"short token", "interventions:\n  - {name: a, title: A, queue: Q, remote: {epilog_url: 'https://x', token: abc}}\n",
			[]string{"interventions[0].remote.token: must be 16 to 255 characters long"}},
		{"field type", "interventions:\n  - name: a\n    title: A\n    queue: Q\n    fields:\n      - {type: radio, name: x}\n",
			[]string{`line 6: interventions[0].fields[0].type: unknown type "radio"; one of: text, textarea, checkbox, number, select, date, email`}},
		{"field name missing", "interventions:\n  - name: a\n    title: A\n    queue: Q\n    fields:\n      - {type: text}\n",
			[]string{"line 6: interventions[0].fields[0].name: is required"}},
		{"field name twice", "interventions:\n  - name: a\n    title: A\n    queue: Q\n    fields:\n      - {type: text, name: x}\n      - {type: checkbox, name: x}\n",
			[]string{`line 7: interventions[0].fields[1].name: the field "x" is declared twice`}},
		{"label does not parse", "interventions:\n  - name: a\n    title: A\n    queue: Q\n    fields:\n      - {type: text, name: x, label: 'Price {{#x}}'}\n",
			[]string{"line 6: interventions[0].fields[0].label: is not a valid Mustache template"}},
		{"template does not parse", "templates:\n  - identifier: a.private\n    body: \"Hello {{#name}}\"\n",
			[]string{"line 3: templates[0].body: is not a valid Mustache template: line 1: Section name has no closing tag"}},
		{"template partial", "templates:\n  - {identifier: a.private, body: '{{> secrets}}'}\n",
			[]string{"templates[0].body: is not a valid Mustache template"}},
		{"template identifier", "templates:\n  - {body: hi}\n", []string{"line 2: templates[0].identifier: is required"}},
		{"template twice", "templates:\n  - {identifier: a.private, body: hi}\n  - {identifier: a.private, body: ho}\n",
			[]string{`line 3: templates[1].identifier: the template "a.private" is declared twice`}},
		{"template identifier not an intervention's", "templates:\n  - {identifier: a.privat, body: hi}\n",
			[]string{`line 2: templates[0].identifier: "a.privat" must be <intervention>.private, <intervention>.public or <intervention>.final`}},
		{"queue twice", "queues: [{name: Inbox}, {name: Inbox}]\n", []string{`queues[1].name: the queue "Inbox" is declared twice`}},
		{"wrong type", "interventions:\n  - {name: a, title: A, queue: Q, fields: oops}\n",
			[]string{"line 2: cannot unmarshal !!str `oops`"}},
		{"not a boolean", "interventions:\n  - {name: a, title: A, queue: Q, enabled: maybe}\n",
			[]string{"line 2: cannot unmarshal !!str `maybe` into bool"}},
		{"duplicate key", "interventions:\n  - name: a\n    name: b\n", []string{`line 3: mapping key "name" already defined at line 2`}},
		{"syntax", "interventions:\n  - name: a\n   title: [\n", []string{"x.yaml: line "}},
		{"empty", "", []string{"x.yaml: the file is empty"}},
		{"only a comment", "# nothing\n", []string{"x.yaml: the file is empty"}},
		{"two documents", "queues: [{name: A}]\n---\nqueues: [{name: B}]\n", []string{"line 2: only one YAML document is allowed"}},
		{"many problems", "interventions:\n  - {name: A, queue: Q}\n", []string{
			"x.yaml: 2 problems:\n  line 2: interventions[0].name:", "\n  line 2: interventions[0].title: is required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := settings.Parse("x.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("Parse accepted:\n%s", tc.yaml)
			}
			var se *settings.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %T, want *settings.Error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain:\n%s", err, w)
				}
			}
		})
	}
}

func TestProblemsRoundTrip(t *testing.T) {
	_, err := settings.Parse("x.yaml", []byte("interventions:\n  - {name: a, queue: Q}\n  - {name: B, title: B, queue: Q}\n"))
	var se *settings.Error
	if !errors.As(err, &se) {
		t.Fatalf("Parse: %v", err)
	}
	ae := se.APIError()
	if got := ae.Fields["interventions[0].title"]; len(got) != 1 || got[0] != "line 2: is required" {
		t.Errorf("APIError fields = %v", ae.Fields)
	}
	back := &settings.Error{File: "x.yaml", Problems: settings.ProblemsOf(ae)}
	if back.Error() != se.Error() {
		t.Errorf("round trip:\n%v\nwant\n%v", back, se)
	}
}

func TestValidateWithoutParse(t *testing.T) {
	f := &settings.File{Interventions: []settings.Intervention{{Name: "a", Title: "A", Queue: "Q"}}}
	err := f.Validate()
	if err == nil || !strings.Contains(err.Error(), "interventions[0].remote.timeout: must be between 1s and 60s, not 0s") {
		t.Errorf("Validate = %v, want the zero timeout refused", err)
	}
	f.Interventions[0].Remote.Timeout = 5 * time.Second
	if err := f.Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
}

func mustParse(t *testing.T, text string) *settings.File {
	t.Helper()
	f, err := settings.Parse("x.yaml", []byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

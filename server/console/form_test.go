package console

import (
	"net/url"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
)

func payload(t *testing.T, bag map[string]any, fields ...*v1.PayloadField) *v1.InterventionPayload {
	t.Helper()
	s, err := structpb.NewStruct(bag)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		if v, ok := s.Fields[f.Name]; ok {
			f.Value = v
		} else {
			f.Value = structpb.NewNullValue()
		}
	}
	return &v1.InterventionPayload{Fields: fields, Data: s}
}

func TestFormFields(t *testing.T) {
	iv := payload(t, map[string]any{"price": 100, "ok": false, "when": "31/01/2025", "note": "a\nb", "extra": map[string]any{"x": 1}},
		&v1.PayloadField{Type: "text", Name: "price", Label: "Price &lt;GBP&gt;"},
		&v1.PayloadField{Type: "checkbox", Name: "ok", Label: "OK?"},
		&v1.PayloadField{Type: "date", Name: "when", Label: "When"},
		&v1.PayloadField{Type: "text", Name: "note", Label: "Note"},
		&v1.PayloadField{Type: "colour", Name: "missing", Label: "Unknown type"},
	)
	fields, others := formFields(iv)
	want := []struct{ input, value, label string }{
		{"text", "100", "Price <GBP>"},
		{"checkbox", "false", "OK?"},
		{"text", "31/01/2025", "When"}, // not YYYY-MM-DD: a date input would empty it
		{"textarea", "a\nb", "Note"},   // a one-line input would drop the line break
		{"text", "", "Unknown type"},
	}
	for i, w := range want {
		f := fields[i]
		if f.Input != w.input || f.Value != w.value || f.Label != w.label {
			t.Errorf("field %d = %s %q %q, want %s %q %q", i, f.Input, f.Value, f.Label, w.input, w.value, w.label)
		}
	}
	if len(others) != 1 || others[0].Key != "extra" || others[0].Value != `{"x":1}` {
		t.Errorf("others = %+v", others)
	}
}

func TestReadFormSendsOnlyEdits(t *testing.T) {
	iv := payload(t, map[string]any{"price": 100, "ok": false, "note": "a\nb"},
		&v1.PayloadField{Type: "text", Name: "price"},
		&v1.PayloadField{Type: "checkbox", Name: "ok"},
		&v1.PayloadField{Type: "textarea", Name: "note"},
		&v1.PayloadField{Type: "checkbox", Name: "absent"},
		&v1.PayloadField{Type: "text", Name: "empty"},
	)
	fields, _ := formFields(iv)
	// Untouched: the price as shown, the note with the browser's CRLF,
	// the absent checkbox unticked (sent as false: a checkbox is a bool).
	edits := readForm(fields, url.Values{"field.price": {"100"}, "field.note": {"a\r\nb"}, "field.empty": {""}})
	if got := edits.AsMap(); len(got) != 1 || got["absent"] != false {
		t.Errorf("untouched form sends %v", got)
	}
	fields, _ = formFields(iv)
	edits = readForm(fields, url.Values{"field.price": {"95"}, "field.ok": {"true"}, "field.note": {"a\r\nb"}, "field.absent": {"true"}})
	got := edits.AsMap()
	if got["price"] != "95" || got["ok"] != true || got["absent"] != true || len(got) != 3 {
		t.Errorf("edits = %v", got)
	}
	if fields[0].Value != "95" || !fields[1].Checked {
		t.Errorf("the fields do not keep what was typed: %+v %+v", fields[0], fields[1])
	}
}

func TestAttachErrors(t *testing.T) {
	fields := []*fieldView{{Name: "price"}, {Name: "ok"}}
	rest := attachErrors(fields, &apierr.Error{Reason: apierr.ValidationFailed, Message: "The given data was invalid.",
		Fields: map[string][]string{"data.price": {"bad price"}, "content": {"too long"}}})
	if len(fields[0].Errors) != 1 || fields[0].Errors[0] != "bad price" || len(fields[1].Errors) != 0 {
		t.Errorf("field errors: %v %v", fields[0].Errors, fields[1].Errors)
	}
	if len(rest) != 2 || rest[1] != "too long" {
		t.Errorf("rest = %v", rest)
	}
	rest = attachErrors(fields, apierr.New(apierr.Conflict, "already submitted"))
	if len(rest) != 1 || rest[0] != "already submitted" {
		t.Errorf("conflict: %v", rest)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/tickets/1": "/tickets/1", "": "/tickets", "//evil": "/tickets", "/\\evil": "/tickets",
		"https://evil": "/tickets", "/x\r\nSet-Cookie: a": "/tickets",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q", in, got)
		}
	}
}

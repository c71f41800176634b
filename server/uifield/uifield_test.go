package uifield_test

import (
	"math"
	"reflect"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/tickiti/tickiti/server/uifield"
)

func value(t *testing.T, v any) *structpb.Value {
	t.Helper()
	out, err := structpb.NewValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCheck(t *testing.T) {
	lo, hi := 1.0, 10.0
	fields := map[string]uifield.Field{
		"text":     {Type: uifield.Text, Name: "t"},
		"textarea": {Type: uifield.Textarea, Name: "ta"},
		"checkbox": {Type: uifield.Checkbox, Name: "c"},
		"number":   {Type: uifield.Number, Name: "n", Min: &lo, Max: &hi},
		"select":   {Type: uifield.Select, Name: "s", Options: []uifield.Option{{Value: "a"}, {Value: "7"}}},
		"date":     {Type: uifield.Date, Name: "d"},
		"email":    {Type: uifield.Email, Name: "e"},
	}
	for _, c := range []struct {
		field string
		value any
		want  string
	}{
		{"text", "x", ""}, {"text", 12.5, ""}, {"text", true, ""}, {"text", nil, ""},
		{"text", map[string]any{"a": 1}, "The t field must be a string or a number."},
		{"textarea", []any{1}, "The ta field must be a string or a number."},
		{"checkbox", true, ""}, {"checkbox", "yes", "The c field must be true or false."},
		{"checkbox", nil, "The c field must be true or false."},
		{"number", 5.0, ""}, {"number", 1.0, ""}, {"number", 10.0, ""}, {"number", nil, ""},
		{"number", "5", "The n field must be a number."},
		{"number", 0.5, "The n field must be at least 1."},
		{"number", 10.5, "The n field must not be greater than 10."},
		{"select", "a", ""}, {"select", 7.0, ""}, {"select", "7", ""}, {"select", nil, ""},
		{"select", "b", "The s field must be one of: a, 7."}, {"select", true, "The s field must be one of: a, 7."},
		{"date", "2025-02-28", ""}, {"date", "2025-02-30", "The d field must be a date written YYYY-MM-DD."},
		{"date", "28/02/2025", "The d field must be a date written YYYY-MM-DD."},
		{"date", 20250228.0, "The d field must be a date written YYYY-MM-DD."},
		{"email", "a@example.com", ""}, {"email", "Ann <a@example.com>", "The e field must be a valid email address."},
		{"email", "nope", "The e field must be a valid email address."},
	} {
		if got := uifield.Check(fields[c.field], value(t, c.value)); got != c.want {
			t.Errorf("Check(%s, %#v) = %q, want %q", c.field, c.value, got, c.want)
		}
	}
}

func TestRequired(t *testing.T) {
	text := uifield.Field{Type: uifield.Text, Name: "t", Required: true}
	box := uifield.Field{Type: uifield.Checkbox, Name: "c", Required: true}
	for _, c := range []struct {
		f     uifield.Field
		value *structpb.Value
		want  string
	}{
		{text, nil, "The t field is required."},
		{text, structpb.NewNullValue(), "The t field is required."},
		{text, structpb.NewStringValue("  "), "The t field is required."},
		{text, structpb.NewStringValue("x"), ""},
		{text, structpb.NewNumberValue(0), ""},
		{box, structpb.NewBoolValue(false), "The c field must be checked."},
		{box, nil, "The c field must be checked."},
		{box, structpb.NewBoolValue(true), ""},
		{uifield.Field{Type: uifield.Text, Name: "o"}, nil, ""},
	} {
		if got := uifield.Required(c.f, c.value); got != c.want {
			t.Errorf("Required(%s, %v) = %q, want %q", c.f.Name, c.value, got, c.want)
		}
	}
}

func TestCoerce(t *testing.T) {
	num := uifield.Field{Type: uifield.Number, Name: "n"}
	text := uifield.Field{Type: uifield.Text, Name: "t"}
	for _, c := range []struct {
		f         uifield.Field
		old, edit *structpb.Value
		want      *structpb.Value
	}{
		{num, nil, structpb.NewStringValue(" 95 "), structpb.NewNumberValue(95)},
		{num, nil, structpb.NewStringValue(""), structpb.NewNullValue()},
		{num, nil, structpb.NewStringValue("abc"), structpb.NewStringValue("abc")},
		{text, structpb.NewNumberValue(1), structpb.NewStringValue("2.5"), structpb.NewNumberValue(2.5)},
		{text, structpb.NewStringValue("1"), structpb.NewStringValue("2.5"), structpb.NewStringValue("2.5")},
		{text, structpb.NewNumberValue(1), structpb.NewStringValue("NaN"), structpb.NewStringValue("NaN")},
	} {
		if got := uifield.Coerce(c.f, c.old, c.edit); !reflect.DeepEqual(got.AsInterface(), c.want.AsInterface()) {
			t.Errorf("Coerce(%s, %v, %v) = %v, want %v", c.f.Type, c.old, c.edit, got, c.want)
		}
	}
}

func TestCheckDefs(t *testing.T) {
	one, nan, inf := 1.0, math.NaN(), math.Inf(-1)
	got := map[string]string{}
	for _, p := range uifield.CheckDefs([]uifield.Field{
		{Type: "radio", Name: "a"},
		{Type: uifield.Text, Name: "a", Label: "{{#x}}"},
		{Type: uifield.Select, Name: "s", Options: []uifield.Option{{Value: "x"}, {Value: "x"}, {}}, Default: "y"},
		{Type: uifield.Select, Name: "s2"},
		{Type: uifield.Checkbox, Name: "c", Min: &one, Options: []uifield.Option{{Value: "x"}}, Default: "true"},
		{Type: uifield.Number, Name: "n", Min: &one, Max: &one, Default: 5},
		{Type: uifield.Date, Name: "d", Default: map[string]any{"a": 1}},
		{Type: uifield.Number, Name: "", Default: 1},
		{Type: uifield.Number, Name: "m", Min: &nan, Max: &inf, Default: nan},
	}) {
		got[p.Path] = p.Message
	}
	want := map[string]string{
		"[0].type":             `unknown type "radio"; one of: text, textarea, checkbox, number, select, date, email`,
		"[1].name":             `the field "a" is declared twice`,
		"[1].label":            "is not a valid Mustache template: line 1: Section x has no closing tag",
		"[2].options[1].value": `the option "x" is declared twice`,
		"[2].options[2].value": "is required",
		"[2].default":          "The default must be one of: x, x, .",
		"[3].options":          "a select field needs at least one option",
		"[4].min":              "only number fields have min and max",
		"[4].options":          "only select fields have options",
		"[4].default":          "The default must be true or false.",
		"[5].default":          "The default must not be greater than 1.",
		"[6].default":          "must be a text, a number or true/false",
		"[7].name":             "is required",
		"[8].min":              "must be a finite number",
		"[8].max":              "must be a finite number",
		"[8].default":          "must be a finite number",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%v\nwant\n%v", got, want)
	}
}

func TestNormalizeEqual(t *testing.T) {
	a := []uifield.Field{uifield.Normalize(uifield.Field{Type: uifield.Number, Name: "n", Default: 5, Options: []uifield.Option{}})}
	b := []uifield.Field{{Type: uifield.Number, Name: "n", Default: 5.0}}
	if !uifield.Equal(a, b) {
		t.Errorf("%+v != %+v", a, b)
	}
	b[0].Default = 6.0
	if uifield.Equal(a, b) {
		t.Errorf("%+v == %+v", a, b)
	}
}

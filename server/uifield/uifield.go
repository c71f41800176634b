// Package uifield defines the UI fields of an intervention: what staff see and
// edit, and the rules a data-bag value must follow to fill one. The rules
// live here once: create_ticket, staff submit, the settings file and the
// settings API all call them.
package uifield

import (
	"fmt"
	"math"
	"net/mail"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/tickiti/tickiti/server/render"
)

// Field types.
const (
	Text     = "text"
	Textarea = "textarea"
	Checkbox = "checkbox"
	Number   = "number"
	Select   = "select"
	Date     = "date"
	Email    = "email"
)

// Types lists every field type, for validation and help texts.
var Types = []string{Text, Textarea, Checkbox, Number, Select, Date, Email}

// DateLayout is the format of a date field's value: YYYY-MM-DD.
const DateLayout = "2006-01-02"

// KnownType reports whether t is a field type.
func KnownType(t string) bool { return slices.Contains(Types, t) }

// Field is one UI field of an intervention, stored in order on the
// intervention. Name is the data-bag key it shows and edits; Label may hold
// {{key}} placeholders filled from the data bag.
//
// Default is what the field holds while the data bag has no value for it:
// staff see it, and a submission sends it. It is nil, a string, a float64
// or a bool (Normalize makes it so).
type Field struct {
	Type     string   `json:"type" yaml:"type"`
	Name     string   `json:"name" yaml:"name"`
	Label    string   `json:"label" yaml:"label"`
	Required bool     `json:"required,omitempty" yaml:"required,omitempty"`
	Help     string   `json:"help,omitempty" yaml:"help,omitempty"`
	Default  any      `json:"default,omitempty" yaml:"default,omitempty"`
	Min      *float64 `json:"min,omitempty" yaml:"min,omitempty"`
	Max      *float64 `json:"max,omitempty" yaml:"max,omitempty"`
	Options  []Option `json:"options,omitempty" yaml:"options,omitempty"`
}

// Option is one choice of a select field: Value goes into the data bag,
// Label is what staff read.
type Option struct {
	Value string `json:"value" yaml:"value"`
	Label string `json:"label" yaml:"label"`
}

// Equal reports whether two field lists are the same, defaults and options
// included (after Normalize).
func Equal(a, b []Field) bool {
	return slices.EqualFunc(a, b, func(x, y Field) bool { return reflect.DeepEqual(x, y) })
}

// Normalize returns f with its default in the form the JSON storage gives
// back (whole numbers as float64) and empty options as nil, so a field read
// from a file, the API or the database compares equal when it is the same.
func Normalize(f Field) Field {
	switch d := f.Default.(type) {
	case int:
		f.Default = float64(d)
	case int64:
		f.Default = float64(d)
	case uint64:
		f.Default = float64(d)
	case float32:
		f.Default = float64(d)
	case time.Time:
		// YAML reads an unquoted 2025-01-31 as a timestamp.
		f.Default = d.Format(DateLayout)
	}
	if len(f.Options) == 0 {
		f.Options = nil
	}
	return f
}

// DefaultValue is the field's default as a data-bag value, or nil.
func (f Field) DefaultValue() *structpb.Value {
	if f.Default == nil {
		return nil
	}
	v, err := structpb.NewValue(f.Default)
	if err != nil {
		return nil
	}
	return v
}

// Problem is something wrong with a field definition. Path is relative to
// the field list: "[0].type".
type Problem struct {
	Path    string
	Message string
}

// CheckDefs checks a list of field definitions: known types, names given
// and unique, labels that parse, and the attributes each type allows.
func CheckDefs(fields []Field) []Problem {
	var ps []Problem
	names := map[string]bool{}
	for i, f := range fields {
		f = Normalize(f)
		add := func(key, format string, args ...any) {
			ps = append(ps, Problem{Path: fmt.Sprintf("[%d].%s", i, key), Message: fmt.Sprintf(format, args...)})
		}
		switch {
		case f.Type == "":
			add("type", "is required; one of: %s", strings.Join(Types, ", "))
		case !KnownType(f.Type):
			add("type", "unknown type %q; one of: %s", f.Type, strings.Join(Types, ", "))
		}
		switch {
		case strings.TrimSpace(f.Name) == "":
			add("name", "is required")
		case names[f.Name]:
			add("name", "the field %q is declared twice", f.Name)
		}
		names[f.Name] = true
		if err := render.Check(f.Label); err != nil {
			add("label", "is not a valid Mustache template: %v", err)
		}
		if f.Type != Number && (f.Min != nil || f.Max != nil) {
			add("min", "only number fields have min and max")
		}
		// JSON, which stores the fields, has no NaN or infinity.
		if !finite(f.Min) {
			add("min", "must be a finite number")
		}
		if !finite(f.Max) {
			add("max", "must be a finite number")
		}
		if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
			add("max", "must not be less than min (%s)", num(*f.Min))
		}
		if f.Type == Select {
			if len(f.Options) == 0 {
				add("options", "a select field needs at least one option")
			}
			values := map[string]bool{}
			for j, o := range f.Options {
				switch {
				case o.Value == "":
					add(fmt.Sprintf("options[%d].value", j), "is required")
				case values[o.Value]:
					add(fmt.Sprintf("options[%d].value", j), "the option %q is declared twice", o.Value)
				}
				values[o.Value] = true
			}
		} else if len(f.Options) > 0 {
			add("options", "only select fields have options")
		}
		if f.Default != nil && KnownType(f.Type) {
			switch d := f.Default.(type) {
			case string, float64, bool:
				if n, isNumber := d.(float64); isNumber && !finite(&n) {
					add("default", "must be a finite number")
				} else if msg := check(f, f.DefaultValue(), "The default"); msg != "" {
					add("default", "%s", msg)
				}
			default:
				add("default", "must be a text, a number or true/false")
			}
		}
	}
	return ps
}

// Check returns what is wrong with v as a value of f, or "". It applies the
// rules a value must always meet; Required adds the one staff must meet. A
// null value counts as empty, except for a checkbox, which is true or false.
func Check(f Field, v *structpb.Value) string {
	return check(f, v, fmt.Sprintf("The %s field", f.Name))
}

func check(f Field, v *structpb.Value, subject string) string {
	if _, isNull := v.GetKind().(*structpb.Value_NullValue); isNull && f.Type != Checkbox {
		return ""
	}
	switch f.Type {
	case Checkbox:
		if _, ok := v.GetKind().(*structpb.Value_BoolValue); !ok {
			return subject + " must be true or false."
		}
	case Text, Textarea:
		switch v.GetKind().(type) {
		case *structpb.Value_StructValue, *structpb.Value_ListValue:
			return subject + " must be a string or a number."
		}
	case Number:
		n, ok := v.GetKind().(*structpb.Value_NumberValue)
		if !ok {
			return subject + " must be a number."
		}
		switch {
		case f.Min != nil && n.NumberValue < *f.Min:
			return fmt.Sprintf("%s must be at least %s.", subject, num(*f.Min))
		case f.Max != nil && n.NumberValue > *f.Max:
			return fmt.Sprintf("%s must not be greater than %s.", subject, num(*f.Max))
		}
	case Select:
		text, ok := scalarText(v)
		if !ok || !slices.ContainsFunc(f.Options, func(o Option) bool { return o.Value == text }) {
			values := make([]string, len(f.Options))
			for i, o := range f.Options {
				values[i] = o.Value
			}
			return fmt.Sprintf("%s must be one of: %s.", subject, strings.Join(values, ", "))
		}
	case Date:
		s, ok := v.GetKind().(*structpb.Value_StringValue)
		if !ok || !ValidDate(s.StringValue) {
			return subject + " must be a date written YYYY-MM-DD."
		}
	case Email:
		s, ok := v.GetKind().(*structpb.Value_StringValue)
		if !ok || !ValidEmail(s.StringValue) {
			return subject + " must be a valid email address."
		}
	}
	return ""
}

// Required returns what is wrong when a field staff must fill has v (nil
// when the data bag has no value), or "". A required checkbox must be
// checked, as in HTML; other fields must not be empty, null or blank text.
func Required(f Field, v *structpb.Value) string {
	if !f.Required {
		return ""
	}
	if f.Type == Checkbox {
		if !v.GetBoolValue() {
			return fmt.Sprintf("The %s field must be checked.", f.Name)
		}
		return ""
	}
	if v == nil || isEmpty(v) {
		return fmt.Sprintf("The %s field is required.", f.Name)
	}
	return ""
}

func isEmpty(v *structpb.Value) bool {
	switch k := v.GetKind().(type) {
	case nil, *structpb.Value_NullValue:
		return true
	case *structpb.Value_StringValue:
		return strings.TrimSpace(k.StringValue) == ""
	}
	return false
}

// Coerce turns a staff edit into the JSON type the field holds: staff edit
// in text boxes, so a number field's "95" becomes 95. For other fields a
// value keeps the type the remote gave it: a text field that held a number
// gets a number back while the edit still parses as one. old is nil when
// the data bag had no value.
func Coerce(f Field, old, edit *structpb.Value) *structpb.Value {
	_, wasNumber := old.GetKind().(*structpb.Value_NumberValue)
	if f.Type != Number && !(wasNumber && (f.Type == Text || f.Type == Textarea)) {
		return edit
	}
	s, isString := edit.GetKind().(*structpb.Value_StringValue)
	if !isString {
		return edit
	}
	text := strings.TrimSpace(s.StringValue)
	if text == "" && f.Type == Number {
		return structpb.NewNullValue() // an emptied number field
	}
	n, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return edit
	}
	return structpb.NewNumberValue(n)
}

// ValidEmail reports whether s is a bare email address (no display name).
func ValidEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Address == s && addr.Name == "" && len(s) <= 254
}

// ValidDate reports whether s is a calendar date written YYYY-MM-DD.
func ValidDate(s string) bool {
	_, err := time.Parse(DateLayout, s)
	return err == nil
}

// scalarText is a string, or a number as written without a needless
// fraction, for comparing with select option values.
func scalarText(v *structpb.Value) (string, bool) {
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		return k.StringValue, true
	case *structpb.Value_NumberValue:
		return num(k.NumberValue), true
	}
	return "", false
}

// finite reports whether an optional bound is unset or a finite number.
func finite(f *float64) bool { return f == nil || !(math.IsNaN(*f) || math.IsInf(*f, 0)) }

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

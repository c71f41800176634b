package console

import (
	"encoding/json"
	"html"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
)

// fieldView is one UI field of an intervention as a form input.
type fieldView struct {
	// ID ties the label and the error text to the input; Key is the form
	// key ("field." + the data-bag key, which may hold any character).
	ID, Key string
	Name    string
	// Type is the field type; Input the control that edits it.
	Type, Input string
	// Label is plain text: the service renders labels as Mustache with
	// HTML-escaped values, and the page escapes them again as text (see
	// plainText).
	Label string
	// Value is what the input shows: the data bag's value or, after a
	// failed submission, what the user typed. Checked for checkboxes.
	Value   string
	Checked bool
	Errors  []string
	// Required, Help and Bounds describe the field to staff; Options are
	// a select's choices.
	Required bool
	Help     string
	Bounds   string
	Options  []optionView
	// orig is what the ticket held: only inputs that differ are sent, so
	// an untouched field keeps its exact JSON value and type.
	orig        string
	origChecked bool
	origIsBool  bool
}

type optionView struct {
	Value, Label string
	Selected     bool
}

// bagEntry is a data-bag key no field shows, displayed read-only.
type bagEntry struct{ Key, Value string }

// formFields builds the form of an intervention payload, and lists the
// rest of its data bag.
func formFields(iv *v1.InterventionPayload) ([]*fieldView, []bagEntry) {
	shown := map[string]bool{}
	var fields []*fieldView
	for i, f := range iv.GetFields() {
		shown[f.GetName()] = true
		text := valueText(f.GetValue())
		fv := &fieldView{
			ID: "f" + strconv.Itoa(i), Key: "field." + f.GetName(), Name: f.GetName(),
			Type: f.GetType(), Input: inputFor(f.GetType(), text), Label: plainText(f.GetLabel()),
			Value: text, orig: text, Required: f.GetRequired(), Help: f.GetHelp(), Bounds: bounds(f),
		}
		if f.GetType() == "select" && len(f.GetOptions()) > 0 {
			fv.Input = "select"
			fv.Options = selectOptions(f, text)
		}
		if b, ok := f.GetValue().GetKind().(*structpb.Value_BoolValue); ok {
			fv.Checked, fv.origChecked, fv.origIsBool = b.BoolValue, b.BoolValue, true
		}
		fields = append(fields, fv)
	}
	var others []bagEntry
	for k, val := range iv.GetData().GetFields() {
		if !shown[k] {
			others = append(others, bagEntry{Key: k, Value: valueText(val)})
		}
	}
	sort.Slice(others, func(i, j int) bool { return others[i].Key < others[j].Key })
	return fields, others
}

// inputFor picks the control for a field type. Types the console does not
// know (added to the service later) are edited as text, which every type
// can be written as; the service checks the value either way. A value the
// specialised control cannot show as it is (a date input empties text
// that is not YYYY-MM-DD; a one-line input drops line breaks) is shown in
// a text control instead, so opening and submitting the form never
// changes it by accident.
func inputFor(typ, value string) string {
	switch typ {
	case "checkbox":
		return "checkbox"
	case "textarea":
		return "textarea"
	case "date":
		if value == "" || isDate(value) {
			return "date"
		}
	case "email":
		if !strings.ContainsAny(value, "\r\n") {
			return "email"
		}
	case "number":
		// A text box, not type=number: the browser would empty what is not
		// a number before the service could say what is wrong with it.
		if !strings.ContainsAny(value, "\r\n") {
			return "number"
		}
	}
	if strings.ContainsAny(value, "\r\n") {
		return "textarea"
	}
	return "text"
}

// selectOptions lists a select's choices. A value that is not one of them
// (the remote sent it, or the choices changed) is offered too, marked, so
// opening and submitting the form does not silently replace it.
func selectOptions(f *v1.PayloadField, value string) []optionView {
	var out []optionView
	found := false
	for _, o := range f.GetOptions() {
		label := o.GetLabel()
		if label == "" {
			label = o.GetValue()
		}
		sel := o.GetValue() == value
		found = found || sel
		out = append(out, optionView{Value: o.GetValue(), Label: label, Selected: sel})
	}
	switch {
	case !found && value != "":
		out = append([]optionView{{Value: value, Label: value + " (current value, not one of the choices)", Selected: true}}, out...)
	case !found:
		out = append([]optionView{{Value: "", Label: "Choose…", Selected: true}}, out...)
	}
	return out
}

// bounds describes a number field's limits.
func bounds(f *v1.PayloadField) string {
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	switch {
	case f.Min != nil && f.Max != nil:
		return "From " + num(f.GetMin()) + " to " + num(f.GetMax()) + "."
	case f.Min != nil:
		return "At least " + num(f.GetMin()) + "."
	case f.Max != nil:
		return "At most " + num(f.GetMax()) + "."
	}
	return ""
}

func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i, c := range s {
		if i != 4 && i != 7 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// valueText is a data-bag value as staff read and type it.
func valueText(v *structpb.Value) string {
	switch k := v.GetKind().(type) {
	case nil, *structpb.Value_NullValue:
		return ""
	case *structpb.Value_StringValue:
		return k.StringValue
	case *structpb.Value_NumberValue:
		return strconv.FormatFloat(k.NumberValue, 'f', -1, 64)
	case *structpb.Value_BoolValue:
		return strconv.FormatBool(k.BoolValue)
	default:
		b, err := json.Marshal(v.AsInterface())
		if err != nil {
			return ""
		}
		return string(b)
	}
}

// readForm collects the edits of a submitted form: a checkbox is a
// boolean, every other input a string (the service turns a number edited
// as text back into a number). Inputs left as they were are not sent. The
// fields take what the user typed, for showing the form again.
func readForm(fields []*fieldView, form url.Values) *structpb.Struct {
	edits := &structpb.Struct{Fields: map[string]*structpb.Value{}}
	for _, f := range fields {
		if f.Input == "checkbox" {
			f.Checked = form.Has(f.Key)
			if !f.origIsBool || f.Checked != f.origChecked {
				edits.Fields[f.Name] = structpb.NewBoolValue(f.Checked)
			}
			continue
		}
		// Browsers send a textarea's line breaks as CRLF.
		typed := strings.ReplaceAll(form.Get(f.Key), "\r\n", "\n")
		f.Value = typed
		for i := range f.Options {
			f.Options[i].Selected = f.Options[i].Value == typed
		}
		if typed != f.orig {
			edits.Fields[f.Name] = structpb.NewStringValue(typed)
		}
	}
	return edits
}

// attachErrors puts a submission's field problems beside their fields and
// returns the rest.
func attachErrors(fields []*fieldView, ae *apierr.Error) []string {
	byName := map[string]*fieldView{}
	for _, f := range fields {
		byName[f.Name] = f
	}
	var rest []string
	keys := make([]string, 0, len(ae.Fields))
	for k := range ae.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if f := byName[strings.TrimPrefix(k, "data.")]; f != nil && strings.HasPrefix(k, "data.") {
			f.Errors = append(f.Errors, ae.Fields[k]...)
			continue
		}
		rest = append(rest, ae.Fields[k]...)
	}
	if len(ae.Fields) == 0 {
		rest = append(rest, ae.Message)
	} else {
		rest = append([]string{"The decision was not submitted: please correct what is marked below."}, rest...)
	}
	return rest
}

// plainText turns text the service stored HTML-escaped (labels, response
// content, audit text) back into plain text, which the templates escape
// again when they print it. The service escapes every value from a
// customer or remote, but an admin's template text is not escaped and
// Mustache's {{{triple}}} braces print a value raw, so the stored text is
// not guaranteed to be safe HTML: showing it as text is.
func plainText(s string) string { return html.UnescapeString(s) }

// DescribedBy lists the ids of the texts that describe the input: its
// hint and its errors, for aria-describedby.
func (f *fieldView) DescribedBy() string {
	var ids []string
	if f.Help != "" || f.Bounds != "" {
		ids = append(ids, f.ID+"-help")
	}
	if len(f.Errors) > 0 {
		ids = append(ids, f.ID+"-err")
	}
	return strings.Join(ids, " ")
}

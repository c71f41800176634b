// Package uifield defines the UI fields of an intervention: what staff see and
// edit, and the rules a data-bag value must follow to fill one.
package uifield

import (
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"
)

// Types the seed names; more arrive with the settings API.
const (
	Text     = "text"
	Checkbox = "checkbox"
)

// Types lists every field type, for validation and help texts.
var Types = []string{Text, Checkbox}

// KnownType reports whether t is a field type.
func KnownType(t string) bool {
	for _, k := range Types {
		if t == k {
			return true
		}
	}
	return false
}

// Field is one UI field of an intervention, stored in order on the
// intervention. Name is the data-bag key it shows and edits; Label may hold
// {{key}} placeholders filled from the data bag.
type Field struct {
	Type  string `json:"type" yaml:"type"`
	Name  string `json:"name" yaml:"name"`
	Label string `json:"label" yaml:"label"`
}

// Check returns what is wrong with v as a value of f, or "".
func Check(f Field, v *structpb.Value) string {
	switch f.Type {
	case Checkbox:
		if _, ok := v.GetKind().(*structpb.Value_BoolValue); !ok {
			return fmt.Sprintf("The %s field must be true or false.", f.Name)
		}
	case Text:
		switch v.GetKind().(type) {
		case *structpb.Value_StructValue, *structpb.Value_ListValue:
			return fmt.Sprintf("The %s field must be a string or a number.", f.Name)
		}
	}
	return ""
}

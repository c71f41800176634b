// Package uifield defines the UI fields of an intervention: what staff see and
// edit, and the rules a data-bag value must follow to fill one.
package uifield

// Types the seed names; more arrive with the settings API.
const (
	Text     = "text"
	Checkbox = "checkbox"
)

// Field is one UI field of an intervention, stored in order on the
// intervention. Name is the data-bag key it shows and edits; Label may hold
// {{key}} placeholders filled from the data bag.
type Field struct {
	Type  string `json:"type" yaml:"type"`
	Name  string `json:"name" yaml:"name"`
	Label string `json:"label" yaml:"label"`
}

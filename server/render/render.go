// Package render fills Mustache templates ({{key}}) from a data bag. Values
// are HTML-escaped; partials are disabled so a template cannot read files.
package render

import (
	"fmt"

	"github.com/cbroglie/mustache"
)

// noPartials refuses every {{> partial}}.
type noPartials struct{}

func (noPartials) Get(name string) (string, error) {
	return "", fmt.Errorf("partials are not supported ({{> %s}})", name)
}

// Parse compiles a template, reporting the position of a syntax error.
func Parse(text string) (*mustache.Template, error) {
	return mustache.ParseStringPartials(text, noPartials{})
}

// String renders text with ctx. Missing keys render as nothing.
func String(text string, ctx map[string]any) (string, error) {
	t, err := Parse(text)
	if err != nil {
		return "", err
	}
	return t.Render(ctx)
}

// Check parses a template and refuses the partials anywhere in it (they are
// only refused when rendered, and one in a section would not be rendered
// without data), so a template that passes never fails to render. Settings
// are checked with it when they are saved, so a broken template never
// reaches create_ticket. A syntax error names the line.
func Check(text string) error {
	t, err := Parse(text)
	if err != nil {
		return err
	}
	return refusePartials(t.Tags())
}

func refusePartials(tags []mustache.Tag) error {
	for _, tag := range tags {
		switch tag.Type() {
		case mustache.Partial:
			_, err := noPartials{}.Get(tag.Name())
			return err
		case mustache.Section, mustache.InvertedSection:
			if err := refusePartials(tag.Tags()); err != nil {
				return err
			}
		}
	}
	return nil
}

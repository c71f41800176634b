package render

import "testing"

func TestCheck(t *testing.T) {
	for text, ok := range map[string]bool{
		"Discount {{uid}}: {{#accept}}yes{{/accept}}{{^accept}}no{{/accept}}": true,
		"{{> file}}":                     false,
		"{{#a}}{{> file}}{{/a}}":         false, // not rendered without data
		"{{^a}}{{#b}}{{>x}}{{/b}}{{/a}}": false,
		"{{#a}}unclosed":                 false,
	} {
		if err := Check(text); (err == nil) != ok {
			t.Errorf("Check(%q) = %v, want ok %t", text, err, ok)
		}
	}
}

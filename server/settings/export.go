package settings

import (
	"bytes"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tickiti/tickiti/server/uifield"
)

// Marshal writes f in the format Parse reads, so that Parse(Marshal(f))
// gives f back: every attribute is written, enabled flags explicitly, the
// remote block whenever it differs from "no remote". Remote tokens are
// secrets and are never written, whatever f holds; applying the output
// keeps the stored tokens.
func Marshal(f *File) ([]byte, error) {
	var raw file
	for _, q := range f.Queues {
		raw.Queues = append(raw.Queues, queue{Name: q.Name})
	}
	for _, t := range f.Templates {
		raw.Templates = append(raw.Templates, template{Identifier: t.Identifier, Body: text(t.Body)})
	}
	for _, iv := range f.Interventions {
		r := intervention{Name: iv.Name, Title: iv.Title, Queue: iv.Queue, Enabled: &iv.Enabled}
		// Parse reads a missing remote block as: disabled, no URL, 10s.
		if rm := iv.Remote; rm.Enabled || rm.EpilogURL != "" || rm.Timeout != DefaultTimeout {
			r.Remote = &remote{Enabled: &rm.Enabled, EpilogURL: rm.EpilogURL, Timeout: seconds(rm.Timeout)}
		}
		for _, fl := range iv.Fields {
			r.Fields = append(r.Fields, rawField(fl))
		}
		raw.Interventions = append(raw.Interventions, r)
	}
	var buf bytes.Buffer
	buf.WriteString("# Tickiti settings: apply with `tickiti intervention apply -f FILE`.\n" +
		"# Remote tokens are never exported; applying keeps the stored ones.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&raw); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// seconds writes a timeout as Parse reads it: whole seconds with the unit
// (a Duration would print 60s as "1m0s").
func seconds(d time.Duration) string { return fmt.Sprintf("%ds", int(d/time.Second)) }

func rawField(f uifield.Field) field {
	out := field{Type: f.Type, Name: f.Name, Label: text(f.Label), Required: f.Required, Help: text(f.Help),
		Default: f.Default, Min: f.Min, Max: f.Max}
	for _, o := range f.Options {
		out.Options = append(out.Options, option{Value: text(o.Value), Label: text(o.Label)})
	}
	return out
}

func (f field) uifield() uifield.Field {
	out := uifield.Field{Type: f.Type, Name: f.Name, Label: string(f.Label), Required: f.Required, Help: string(f.Help),
		Default: f.Default, Min: f.Min, Max: f.Max}
	for _, o := range f.Options {
		out.Options = append(out.Options, uifield.Option{Value: string(o.Value), Label: string(o.Label)})
	}
	return uifield.Normalize(out)
}

// text is free text (a template body, a label) as written to YAML: a block
// when that reads the same back, quoted otherwise. yaml.v3 writes some
// strings as blocks it then reads differently (a leading newline).
type text string

func (t text) MarshalYAML() (any, error) {
	s := string(t)
	out, err := yaml.Marshal(s)
	if err == nil {
		var back string
		if yaml.Unmarshal(out, &back) == nil && back == s {
			return s, nil
		}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle}, nil
}

// Package settings is the YAML file `tickiti intervention apply` reads: the
// queues, templates and interventions to create or update. It checks all
// that needs no database, and remembers where every value sits in the file,
// so that each problem names its line and key. The rules that need the
// database (does the queue exist?) are the service's; it reports them
// through File.Problem so they read the same.
//
// The format:
//
//	queues: [{name: Inbox}]
//	templates:
//	  - {identifier: discount_request.private, body: "Discount request {{uid}}"}
//	interventions:
//	  - name: discount_request        # [a-z0-9_]+, unique
//	    title: Discount request       # required
//	    queue: Inbox                  # in this file or already in Tickiti
//	    enabled: true                 # default true
//	    remote:                       # leave out for no remote
//	      enabled: true               # default true when the block is given
//	      epilog_url: https://your-system/api/interventions/epilog
//	      timeout: 10s                # whole seconds, 1s–60s, default 10s
//	      token: VALUE                # optional; left out, Tickiti keeps the
//	                                  # stored token or generates one
//	    fields:                       # in order; see package uifield for the rules
//	      - {type: text, name: order_price, label: "Order price {{currency}}"}
//	      - {type: checkbox, name: accept, label: "Accept?"}
//	      - type: number              # text, textarea, checkbox, number,
//	        name: discount            # select, date or email
//	        label: Discount (%)
//	        required: true            # staff must fill it to submit
//	        help: At most 20 %.       # shown to staff under the field
//	        default: 5                # while the data bag has no value
//	        min: 0                    # number fields only
//	        max: 20
//	      - type: select
//	        name: reason
//	        options: [{value: loyal, label: Loyal customer}, {value: damaged, label: Damaged item}]
//
// Template identifiers are "<intervention>.private" (required before the
// intervention can be enabled), ".public" or ".final". Marshal writes the
// same format (tickiti intervention export), without remote tokens.
package settings

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/render"
	"github.com/tickiti/tickiti/server/uifield"
)

// Bounds of remote.timeout.
const (
	DefaultTimeout = 10 * time.Second
	MinTimeout     = time.Second
	MaxTimeout     = 60 * time.Second
)

// MaxTokenLen bounds a remote token given in the file: it travels in an
// HTTP header.
const MaxTokenLen = 255

// MinTokenLen keeps fixed remote tokens from being guessable by brute force.
const MinTokenLen = 16

var namePattern = regexp.MustCompile(`^[a-z0-9_]+$`)

// File is a parsed settings file.
type File struct {
	// Name is the file name problems are reported under.
	Name          string
	Queues        []Queue
	Templates     []Template
	Interventions []Intervention

	// lines maps a key path ("interventions[0].remote.timeout") to its line.
	lines map[string]int
}

// Queue is a queue to create if it does not exist.
type Queue struct {
	Name string
}

// Template is a Mustache template, created or replaced by identifier.
type Template struct {
	Identifier string
	Body       string
}

// Intervention is the whole definition of an intervention: applying it sets
// every attribute to what the file says (defaults included), except the
// remote token, which is only replaced when the file gives one.
type Intervention struct {
	Name    string
	Title   string
	Queue   string
	Enabled bool
	Remote  Remote
	Fields  []Field
}

// Remote is how Tickiti calls the remote system back.
type Remote struct {
	Enabled   bool
	EpilogURL string
	Timeout   time.Duration
	// Token is the bearer token for the epilog call; "" keeps the stored
	// one, or has Tickiti generate one when there is none.
	Token string
}

// Field is a UI field, stored as it is.
type Field = uifield.Field

// The shapes the YAML is decoded into, and Marshal encodes. Their yaml tags
// are also the allowed keys: the walk that finds unknown keys reads them, so
// the two cannot disagree.
type file struct {
	Queues        []queue        `yaml:"queues,omitempty"`
	Templates     []template     `yaml:"templates,omitempty"`
	Interventions []intervention `yaml:"interventions,omitempty"`
}

type queue struct {
	Name string `yaml:"name"`
}

type template struct {
	Identifier string `yaml:"identifier"`
	Body       text   `yaml:"body"`
}

type intervention struct {
	Name    string  `yaml:"name"`
	Title   string  `yaml:"title"`
	Queue   string  `yaml:"queue"`
	Enabled *bool   `yaml:"enabled"`
	Remote  *remote `yaml:"remote,omitempty"`
	Fields  []field `yaml:"fields,omitempty"`
}

type remote struct {
	Enabled   *bool  `yaml:"enabled"`
	EpilogURL string `yaml:"epilog_url,omitempty"`
	// A string, not a time.Duration: a bare number ("10") then gets a
	// message saying to add the unit, instead of meaning 10 ns.
	Timeout string `yaml:"timeout,omitempty"`
	Token   string `yaml:"token,omitempty"`
}

type field struct {
	Type     string   `yaml:"type"`
	Name     string   `yaml:"name"`
	Label    text     `yaml:"label,omitempty"`
	Required bool     `yaml:"required,omitempty"`
	Help     text     `yaml:"help,omitempty"`
	Default  any      `yaml:"default,omitempty"`
	Min      *float64 `yaml:"min,omitempty"`
	Max      *float64 `yaml:"max,omitempty"`
	Options  []option `yaml:"options,omitempty"`
}

type option struct {
	Value text `yaml:"value"`
	Label text `yaml:"label"`
}

// Parse reads a settings file. name is only used in problems. It returns a
// *Error listing every problem it found, or a File that passes Validate.
func Parse(name string, data []byte) (*File, error) {
	fail := func(ps []Problem) (*File, error) { return nil, newError(name, ps) }

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return fail([]Problem{{Message: "the file is empty: declare queues, templates or interventions"}})
		}
		return fail(yamlProblems(err))
	}
	// A second document would be silently ignored otherwise.
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return fail(yamlProblems(err))
		}
		return fail([]Problem{{Line: next.Line, Message: "only one YAML document is allowed (remove the second \"---\")"}})
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return fail([]Problem{{Message: "the file is empty: declare queues, templates or interventions"}})
		}
		root = doc.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return fail([]Problem{{Message: "the file is empty: declare queues, templates or interventions"}})
	}

	w := &walker{lines: map[string]int{}}
	w.walk(root, reflect.TypeOf(file{}), "")
	if len(w.problems) > 0 {
		return fail(w.problems)
	}
	var raw file
	if err := root.Decode(&raw); err != nil {
		return fail(yamlProblems(err))
	}

	f := &File{Name: name, lines: w.lines}
	var ps []Problem
	for _, q := range raw.Queues {
		f.Queues = append(f.Queues, Queue{Name: q.Name})
	}
	for _, t := range raw.Templates {
		f.Templates = append(f.Templates, Template{Identifier: t.Identifier, Body: string(t.Body)})
	}
	for i, r := range raw.Interventions {
		iv := Intervention{Name: r.Name, Title: r.Title, Queue: r.Queue, Enabled: true, Remote: Remote{Timeout: DefaultTimeout}}
		if r.Enabled != nil {
			iv.Enabled = *r.Enabled
		}
		if r.Remote != nil {
			// Writing a remote block means wanting it, unless it says otherwise.
			iv.Remote.Enabled = r.Remote.Enabled == nil || *r.Remote.Enabled
			iv.Remote.EpilogURL = r.Remote.EpilogURL
			iv.Remote.Token = r.Remote.Token
			if r.Remote.Timeout != "" {
				path := fmt.Sprintf("interventions[%d].remote.timeout", i)
				d, err := time.ParseDuration(strings.TrimSpace(r.Remote.Timeout))
				if err != nil {
					ps = append(ps, f.Problem(path, "%q is not a duration: write whole seconds with the unit, such as 10s", r.Remote.Timeout))
					// Keep a valid value so Validate does not report it twice.
					d = DefaultTimeout
				}
				iv.Remote.Timeout = d
			}
		}
		for _, fl := range r.Fields {
			iv.Fields = append(iv.Fields, fl.uifield())
		}
		f.Interventions = append(f.Interventions, iv)
	}
	ps = append(ps, f.check()...)
	if len(ps) > 0 {
		return fail(ps)
	}
	return f, nil
}

// Validate checks everything that needs no database. Files built in code
// (without Parse) are checked the same way; their problems carry no line.
func (f *File) Validate() error { return newError(f.Name, f.check()) }

func (f *File) check() []Problem {
	var ps []Problem
	add := func(path, format string, args ...any) { ps = append(ps, f.Problem(path, format, args...)) }
	// The rules of each item are shared with the settings API; here they
	// are located in the file.
	under := func(path string, rel []Problem) {
		for _, p := range rel {
			add(path+"."+p.Path, "%s", p.Message)
		}
	}

	queues := map[string]bool{}
	for i, q := range f.Queues {
		path := fmt.Sprintf("queues[%d].name", i)
		if msg := CheckQueueName(q.Name); msg != "" {
			add(path, "%s", msg)
		} else if queues[q.Name] {
			add(path, "the queue %q is declared twice", q.Name)
		}
		queues[q.Name] = true
	}

	templates := map[string]bool{}
	for i, t := range f.Templates {
		path := fmt.Sprintf("templates[%d]", i)
		rel := CheckTemplate(t)
		if len(rel) == 0 || rel[0].Path != "identifier" {
			if templates[t.Identifier] {
				add(path+".identifier", "the template %q is declared twice", t.Identifier)
			}
		}
		templates[t.Identifier] = true
		under(path, rel)
	}

	names := map[string]bool{}
	for i, iv := range f.Interventions {
		path := fmt.Sprintf("interventions[%d]", i)
		rel := CheckIntervention(iv)
		if names[iv.Name] && CheckInterventionName(iv.Name) == "" {
			add(path+".name", "the intervention %q is declared twice", iv.Name)
		}
		names[iv.Name] = true
		under(path, rel)
		if t := iv.Remote.Token; t != "" {
			switch {
			case len(t) < MinTokenLen || len(t) > MaxTokenLen:
				add(path+".remote.token", "must be %d to %d characters long", MinTokenLen, MaxTokenLen)
			case strings.IndexFunc(t, func(c rune) bool { return c <= ' ' || c > '~' }) >= 0:
				// It is sent as an HTTP header value.
				add(path+".remote.token", "must be printable ASCII without spaces")
			}
		}
	}
	return ps
}

// Limits of names and titles: they travel in URLs and fill list columns.
// An epilog URL is the request target of every epilog call.
const (
	MaxNameLen  = 100
	MaxTitleLen = 255
	MaxURLLen   = 2048
)

// CheckQueueName returns what is wrong with a queue name, or "". Queue names
// are free text, but they appear in URLs (/api/v1/queues/{name}).
func CheckQueueName(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "is required"
	case name != strings.TrimSpace(name):
		return "must not start or end with spaces"
	case utf8.RuneCountInString(name) > MaxTitleLen:
		return fmt.Sprintf("must not be longer than %d characters", MaxTitleLen)
	case strings.ContainsAny(name, "/") || strings.ContainsFunc(name, unicode.IsControl):
		return "must not contain / or control characters"
	}
	return ""
}

// CheckInterventionName returns what is wrong with an intervention name, or "".
func CheckInterventionName(name string) string {
	switch {
	case name == "":
		return "is required"
	case !namePattern.MatchString(name):
		return fmt.Sprintf("%q must contain only lowercase letters, digits and _", name)
	case len(name) > MaxNameLen:
		return fmt.Sprintf("must not be longer than %d characters", MaxNameLen)
	}
	return ""
}

// Template kinds: the suffixes of an intervention's templates.
var TemplateKinds = []string{"private", "public", "final"}

var identifierPattern = regexp.MustCompile(`^([a-z0-9_]+)\.(private|public|final)$`)

// CheckTemplateIdentifier returns what is wrong with a template identifier,
// or "". Tickiti renders only intervention templates, so every identifier is
// "<intervention>.private", ".public" or ".final". The intervention need not
// exist yet: templates may be written before the intervention using them.
func CheckTemplateIdentifier(id string) string {
	switch {
	case strings.TrimSpace(id) == "":
		return "is required"
	case strings.ContainsFunc(id, isSpace):
		return "must not contain spaces"
	case !identifierPattern.MatchString(id):
		return fmt.Sprintf("%q must be <intervention>.private, <intervention>.public or <intervention>.final, the intervention name being lowercase letters, digits and _", id)
	case len(id) > MaxNameLen+len(".private"):
		return fmt.Sprintf("must not be longer than %d characters", MaxNameLen+len(".private"))
	}
	return ""
}

// TemplateOf splits an intervention template identifier into the
// intervention name and the kind; ok is false for an invalid identifier.
func TemplateOf(id string) (intervention, kind string, ok bool) {
	m := identifierPattern.FindStringSubmatch(id)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// CheckTemplate returns the problems of a template, with paths relative to
// it ("identifier", "body"); an identifier problem comes first.
func CheckTemplate(t Template) []Problem {
	var ps []Problem
	if msg := CheckTemplateIdentifier(t.Identifier); msg != "" {
		ps = append(ps, Problem{Path: "identifier", Message: msg})
	}
	if strings.TrimSpace(t.Body) == "" {
		ps = append(ps, Problem{Path: "body", Message: "is required"})
	} else if err := render.Check(t.Body); err != nil {
		ps = append(ps, Problem{Path: "body", Message: fmt.Sprintf("is not a valid Mustache template: %v", err)})
	}
	return ps
}

// CheckIntervention returns the problems of an intervention that need no
// database, with paths relative to it ("name", "remote.timeout",
// "fields[0].type"). The remote token, which only files give, is checked
// by the file.
func CheckIntervention(iv Intervention) []Problem {
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if msg := CheckInterventionName(iv.Name); msg != "" {
		add("name", "%s", msg)
	}
	switch {
	case strings.TrimSpace(iv.Title) == "":
		add("title", "is required")
	case utf8.RuneCountInString(iv.Title) > MaxTitleLen:
		add("title", "must not be longer than %d characters", MaxTitleLen)
	}
	if strings.TrimSpace(iv.Queue) == "" {
		add("queue", "is required")
	}
	r := iv.Remote
	switch {
	case r.Timeout < MinTimeout || r.Timeout > MaxTimeout:
		// %ds: a Duration prints 60s as "1m0s".
		add("remote.timeout", "must be between %ds and %ds, not %s", int(MinTimeout.Seconds()), int(MaxTimeout.Seconds()), r.Timeout)
	case r.Timeout%time.Second != 0:
		add("remote.timeout", "must be whole seconds, not %s", r.Timeout)
	}
	if r.EpilogURL == "" {
		if r.Enabled {
			add("remote.epilog_url", "is required when the remote is enabled")
		}
	} else if msg := checkURL(r.EpilogURL); msg != "" {
		add("remote.epilog_url", "%s", msg)
	}
	for _, p := range uifield.CheckDefs(iv.Fields) {
		add("fields"+p.Path, "%s", p.Message)
	}
	return ps
}

func checkURL(s string) string {
	u, err := url.Parse(s)
	var ue *url.Error
	switch {
	case len(s) > MaxURLLen:
		// Servers refuse longer request targets (414), which would fail
		// every epilog call.
		return fmt.Sprintf("must not be longer than %d characters", MaxURLLen)
	case errors.As(err, &ue):
		return fmt.Sprintf("%q is not a URL: %v", s, ue.Err) // ue itself quotes s again
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q must be an absolute http:// or https:// URL", s)
	case u.Host == "":
		return fmt.Sprintf("%q has no host", s)
	case u.User != nil:
		// The remote token is how Tickiti authenticates; credentials in
		// the URL would end up in logs (so the message hides the password).
		return fmt.Sprintf("%q must not contain credentials; the remote token authenticates the call", u.Redacted())
	}
	return ""
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// Line is the line of the key at path, or of its closest enclosing key or
// item that has one; 0 when the file was not parsed.
func (f *File) Line(path string) int {
	for path != "" {
		if l, ok := f.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// Problem returns a problem with the value at path (such as
// "interventions[0].queue"), located in the file.
func (f *File) Problem(path, format string, args ...any) Problem {
	return Problem{Line: f.Line(path), Path: path, Message: fmt.Sprintf(format, args...)}
}

// Problem is one thing wrong with a file.
type Problem struct {
	Line    int    // 0 when unknown
	Path    string // "" for a problem with the file as a whole
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error is every problem found in a file.
type Error struct {
	File     string
	Problems []Problem
}

// newError returns nil when there are no problems, so it can be returned
// as an error directly.
func newError(file string, ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	return &Error{File: file, Problems: ps}
}

func (e *Error) Error() string {
	prefix := ""
	if e.File != "" {
		prefix = e.File + ": "
	}
	if len(e.Problems) == 1 {
		return prefix + e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s%d problems:", prefix, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// APIError is the error as the service returns it: validation_failed with
// one entry per key path, each message starting with "line N: " when the
// line is known (ProblemsOf reads them back).
func (e *Error) APIError() *apierr.Error {
	ae := &apierr.Error{Reason: apierr.ValidationFailed, Fields: map[string][]string{}}
	if e.File != "" {
		ae.Message = fmt.Sprintf("The settings in %s are invalid; nothing was applied.", e.File)
	} else {
		ae.Message = "The settings are invalid; nothing was applied."
	}
	for _, p := range e.Problems {
		msg := p.Message
		if p.Line > 0 {
			msg = fmt.Sprintf("line %d: %s", p.Line, msg)
		}
		ae.Fields[p.Path] = append(ae.Fields[p.Path], msg)
	}
	return ae
}

// ProblemsOf turns the field errors of an APIError back into problems,
// ordered by line, so a client can print them as Error does.
func ProblemsOf(ae *apierr.Error) []Problem {
	var ps []Problem
	for path, msgs := range ae.Fields {
		for _, msg := range msgs {
			p := Problem{Path: path}
			p.Line, p.Message = cutLine(msg)
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Path < ps[j].Path
	})
	return ps
}

// yamlProblems turns a yaml.v3 error into problems. Its messages carry the
// line as "line N: ..."; the "yaml: " prefix says nothing to the reader.
func yamlProblems(err error) []Problem {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	ps := make([]Problem, 0, len(msgs))
	for _, m := range msgs {
		var p Problem
		p.Line, p.Message = cutLine(m)
		ps = append(ps, p)
	}
	return ps
}

// cutLine splits "line N: text" (as APIError and yaml.v3 write messages)
// into N and text; a message without the prefix has line 0.
func cutLine(msg string) (int, string) {
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				return n, text
			}
		}
	}
	return 0, msg
}

// walker records the line of every key and item, and refuses keys the
// decoding types do not have. The decoder could refuse them too
// (KnownFields), but only the walk knows the key path and the allowed keys
// to name in the message.
type walker struct {
	lines    map[string]int
	problems []Problem
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	// Other mismatches (a list where a text belongs, ...) are left to the
	// decoder, which names the type it expected.
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				continue // "<<: *anchor"; the decoder merges and checks it
			}
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if _, seen := w.lines[p]; !seen {
				w.lines[p] = k.Line
			}
			ft, ok := fieldType(t, k.Value)
			if !ok {
				w.problems = append(w.problems, Problem{Line: k.Line, Path: p,
					Message: "unknown field; allowed: " + strings.Join(keys(t), ", ")})
				continue
			}
			w.walk(v, ft, p)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			w.lines[p] = item.Line
			w.walk(item, t.Elem(), p)
		}
	}
}

// yamlKey is the key a struct field decodes from, or "".
func yamlKey(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return strings.ToLower(f.Name)
	}
	return name
}

func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); yamlKey(f) == key {
			return f.Type, true
		}
	}
	return nil, false
}

func keys(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if k := yamlKey(t.Field(i)); k != "" {
			out = append(out, k)
		}
	}
	return out
}

package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var funcs = template.FuncMap{
	// text shows stored HTML-escaped text as text (see plainText).
	"text": plainText,
	"when": func(t *timestamppb.Timestamp) string {
		if t == nil {
			return ""
		}
		return t.AsTime().UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"iso": func(t *timestamppb.Timestamp) string {
		if t == nil {
			return ""
		}
		return t.AsTime().UTC().Format(time.RFC3339)
	},
	"ms": func(d *durationpb.Duration) string {
		return fmt.Sprintf("%d ms", d.AsDuration().Milliseconds())
	},
	"add": func(a, b int) int { return a + b },
}

// parsePages parses each page template with the layout and the shared
// partials; a page is rendered by executing "layout".
func parsePages() (map[string]*template.Template, error) {
	shared, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/_*.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.Must(shared.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		pages[strings.TrimSuffix(base, ".html")] = t
	}
	return pages, nil
}

// render writes a whole page. It renders into a buffer first, so a
// template error becomes a clean 500 rather than half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	c.execute(w, status, page, "layout", data)
}

// renderFragment writes one named template of a page (the live part of
// the ticket page).
func (c *Console) renderFragment(w http.ResponseWriter, page string, data any) {
	c.execute(w, http.StatusOK, page, page+"-live", data)
}

func (c *Console) execute(w http.ResponseWriter, status int, page, name string, data any) {
	t := c.pages[page]
	var buf bytes.Buffer
	if t == nil {
		c.log.Error("console: no such page", "page", page)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		c.log.Error("console: render", "page", page, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages hold customer data and one-time secrets: never cache them.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

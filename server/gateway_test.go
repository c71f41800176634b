package server_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/dbtest"
)

// TestCreatedAnswerHasContentLength: a 201 answer carries Content-Length
// however large it is (the status must not be sent before the gateway has
// measured the body).
func TestCreatedAnswerHasContentLength(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, finalAnswer)
		f.db.Template.Delete().ExecX(t.Context())
		admin := newToken(t, f.db, nil, auth.WorkflowWrite)
		body := `{"identifier": "discount_request.final", "body": "` + strings.Repeat("x", 8<<10) + `"}`
		code, h, b := do(t, "POST", f.srv.base+"/api/v1/templates", admin, nil, body)
		if code != http.StatusCreated {
			t.Fatalf("create template: %d %s", code, b)
		}
		if h.Get("Content-Length") != strconv.Itoa(len(b)) {
			t.Errorf("201 of %d bytes: Content-Length %q", len(b), h.Get("Content-Length"))
		}
	})
}

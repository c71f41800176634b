package server_test

import (
	"bytes"
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

// TestRouteBeforeBody: a request to no route gets 404 or 405 whatever its
// body; the body's media type and size matter only to a route that reads it.
func TestRouteBeforeBody(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, finalAnswer)
		for _, r := range []struct {
			method, path string
			status       int
			reason       string
		}{
			{"PUT", "/api/v1/tickets/100001", 405, "method_not_allowed"},
			{"POST", "/api/v1/nothing", 404, "not_found"},
			{"POST", "/api/create_ticket", 415, "unsupported_media_type"},
			{"PATCH", "/api/v1/queues/Inbox", 415, "unsupported_media_type"},
		} {
			req, _ := http.NewRequest(r.method, f.srv.base+r.path, strings.NewReader("plain text"))
			req.Header.Set("Content-Type", "text/plain")
			req.Header.Set("Authorization", "Bearer "+f.createToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != r.status || decodeError(t, buf.Bytes()).Error != r.reason {
				t.Errorf("%s %s: %d %s, want %d %s", r.method, r.path, resp.StatusCode, buf.String(), r.status, r.reason)
			}
		}
		// PATCH bodies, which the gateway reads on its own, are bounded too.
		huge := `{"name": "` + strings.Repeat("x", 2<<20) + `"}`
		if code, _, b := do(t, "PATCH", f.srv.base+"/api/v1/queues/Inbox", f.createToken, nil, huge); code != 413 || decodeError(t, b).Error != "payload_too_large" {
			t.Errorf("PATCH of 2 MiB: %d %s", code, b)
		}
	})
}

// TestBadParameters: a path or query parameter of the wrong type is a 400
// invalid_request naming it, not a body error.
func TestBadParameters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, finalAnswer)
		for path, param := range map[string]string{"/api/v1/tickets/abc": "ticket_number", "/api/v1/tickets?page_size=x": "page_size"} {
			code, _, b := do(t, "GET", f.srv.base+path, f.staffToken, nil, "")
			if e := decodeError(t, b); code != http.StatusBadRequest || e.Error != "invalid_request" || !strings.Contains(e.Message, param) {
				t.Errorf("GET %s: %d %s", path, code, b)
			}
		}
	})
}

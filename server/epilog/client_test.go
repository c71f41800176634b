package epilog_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tickiti/tickiti/pkg/webhook"
	"github.com/tickiti/tickiti/server/epilog"
)

// TestClassification covers the answers the end-to-end tests do not.
func TestClassification(t *testing.T) {
	cases := []struct {
		name       string
		handler    http.HandlerFunc
		class      epilog.Class
		err        string
		retryAfter time.Duration
	}{
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example/epilog", http.StatusFound)
		}, epilog.Permanent, `HTTP 302 redirect to "https://elsewhere.example/epilog" (redirects are not followed)`, 0},
		{"408", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusRequestTimeout) }, epilog.Transient, "HTTP 408", 0},
		{"503 with a Retry-After date", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		}, epilog.Transient, "HTTP 503", 59 * time.Minute},
		{"404", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) }, epilog.Permanent, "HTTP 404", 0},
		{"204 without a body", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }, epilog.Malformed, "HTTP 204, but the answer is not the expected JSON", 0},
		{"ok false", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"ok": false, "message": "no"}`)) }, epilog.Answered, "", 0},
		{"huge 500", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(strings.Repeat("e", 1<<20)))
		}, epilog.Transient, "HTTP 500", 0},
	}
	c := epilog.NewClient("test")
	for _, tc := range cases {
		srv := httptest.NewServer(tc.handler)
		res := c.Send(context.Background(), epilog.Call{URL: srv.URL, DeliveryID: "msg_1", Body: []byte(`{}`), Timeout: 5 * time.Second})
		srv.Close()
		got := ""
		if res.Err != nil {
			got = res.Err.Error()
		}
		if res.Class != tc.class || !strings.HasPrefix(got, tc.err) || (tc.err == "" && got != "") {
			t.Errorf("%s: class %d, err %q; want %d, %q", tc.name, res.Class, got, tc.class, tc.err)
		}
		if res.RetryAfter < tc.retryAfter || (tc.retryAfter == 0 && res.RetryAfter != 0) {
			t.Errorf("%s: Retry-After %s", tc.name, res.RetryAfter)
		}
		if len(res.Body) > epilog.MaxBody {
			t.Errorf("%s: read %d bytes", tc.name, len(res.Body))
		}
	}

	if res := c.Send(context.Background(), epilog.Call{URL: "http://[::1", Body: []byte(`{}`)}); res.Class != epilog.Permanent {
		t.Errorf("malformed URL: %d %v", res.Class, res.Err)
	}
}

// TestSignedHeaders: a call with secrets carries one signature per secret,
// each verifiable with pkg/webhook; a call without carries none.
func TestSignedHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	defer srv.Close()
	c := epilog.NewClient("test")
	newer, older := webhook.NewSecret(), webhook.NewSecret()
	body := []byte(`{"ticket_id":1}`)
	if res := c.Send(context.Background(), epilog.Call{URL: srv.URL, DeliveryID: "msg_2", Body: body, Secrets: []string{newer, older}}); res.Class != epilog.Answered {
		t.Fatalf("send: %v", res.Err)
	}
	if got.Get("webhook-id") != "msg_2" || len(strings.Fields(got.Get("webhook-signature"))) != 2 {
		t.Errorf("headers: %v", got)
	}
	for _, s := range []string{newer, older} {
		if err := webhook.Verify(s, got, body, time.Minute); err != nil {
			t.Errorf("verify: %v", err)
		}
	}
	if res := c.Send(context.Background(), epilog.Call{URL: srv.URL, DeliveryID: "msg_3", Body: body}); res.Class != epilog.Answered {
		t.Fatalf("send: %v", res.Err)
	}
	if got.Get("webhook-signature") != "" || got.Get("webhook-timestamp") != "" || got.Get("webhook-id") != "msg_3" {
		t.Errorf("unsigned headers: %v", got)
	}
	if res := c.Send(context.Background(), epilog.Call{URL: srv.URL, DeliveryID: "msg_4", Body: body, Secrets: []string{"whsec_***"}}); res.Class != epilog.Permanent {
		t.Errorf("malformed secret: %d %v", res.Class, res.Err)
	}
}

package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickiti/tickiti/ent/intervention"
	"github.com/tickiti/tickiti/pkg/webhook"
	"github.com/tickiti/tickiti/server"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/delivery"
)

// hit is one epilog call a fault remote received.
type hit struct {
	at     time.Time
	header http.Header
	body   []byte
}

// faultRemote is a remote that can misbehave in every way the tests need:
// serve writes the whole answer (or none, or hangs).
type faultRemote struct {
	*httptest.Server
	mu    sync.Mutex
	hits  []hit
	serve func(n int, h hit, w http.ResponseWriter, r *http.Request)
}

func (fr *faultRemote) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h := hit{at: time.Now(), header: r.Header.Clone(), body: body}
	fr.mu.Lock()
	fr.hits = append(fr.hits, h)
	n := len(fr.hits)
	fr.mu.Unlock()
	fr.serve(n, h, w, r)
}

func newFaultRemote(t *testing.T, serve func(n int, h hit, w http.ResponseWriter, r *http.Request)) *faultRemote {
	fr := &faultRemote{serve: serve}
	fr.Server = httptest.NewServer(fr)
	t.Cleanup(fr.Close)
	return fr
}

func (fr *faultRemote) received() []hit {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	return append([]hit(nil), fr.hits...)
}

// answer writes a JSON answer.
func answer(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

// final answers with a final block that matches the call.
func final(w http.ResponseWriter, h hit) {
	var req map[string]any
	_ = json.Unmarshal(h.body, &req)
	b, _ := json.Marshal(map[string]any{
		"ok": true, "ticket_id": req["ticket_id"], "uid": req["uid"], "intervention": req["intervention"],
		"final": map[string]any{"response_id": req["response_id"], "ticket_audit": "Discount applied.", "remote_reference": "ORD-10021"},
	})
	answer(w, http.StatusOK, string(b))
}

// fastOpts is the harness's quick schedule.
var fastOpts = delivery.Options{Schedule: fastSchedule, Poll: 20 * time.Millisecond}

// newFaultFixture seeds the database at url with the intervention calling
// remoteURL and starts a server with opts.
func newFaultFixture(t *testing.T, url, remoteURL string, opts delivery.Options) *fixture {
	f := &fixture{db: dbtest.Open(t, url)}
	f.remoteToken, f.createToken, f.staffToken = seed(t, f.db, remoteURL)
	f.srv = startWith(t, url, func(c *server.Config) { c.Delivery = opts })
	return f
}

// createNumbered opens the ticket of uid "order-<i>" and returns its number.
func (f *fixture) createNumbered(t *testing.T, i int) int64 {
	t.Helper()
	body := strings.Replace(seedBody, "order-12345-discount", "order-"+strconv.Itoa(i), 1)
	code, _, b := f.createTicket(t, "key-"+strconv.Itoa(i), body)
	if code != http.StatusCreated {
		t.Fatalf("create ticket %d: %d %s", i, code, b)
	}
	var out struct {
		Data struct {
			TicketNumber int64 `json:"ticket_number"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out.Data.TicketNumber
}

func (f *fixture) mustSubmit(t *testing.T, number int64) {
	t.Helper()
	if code, body := f.submit(t, itoa(number), `{"data": {"order_price": 95, "accept": true}}`); code != http.StatusOK {
		t.Fatalf("submit %d: %d %s", number, code, body)
	}
}

// deliveryView is a Delivery as REST shows it.
type deliveryView struct {
	ID              int64         `json:"id"`
	DeliveryID      string        `json:"delivery_id"`
	ResponseID      int64         `json:"response_id"`
	State           string        `json:"state"`
	Attempts        int           `json:"attempts"`
	LastError       string        `json:"last_error"`
	NextAttemptTime *time.Time    `json:"next_attempt_time"`
	TicketNumber    int64         `json:"ticket_number"`
	Intervention    string        `json:"intervention"`
	Redeliveries    int           `json:"redeliveries"`
	AttemptLog      []attemptView `json:"attempt_log"`
}

type attemptView struct {
	StartTime             time.Time `json:"start_time"`
	Duration              string    `json:"duration"`
	HTTPStatus            int       `json:"http_status"`
	Error                 string    `json:"error"`
	ResponseBody          string    `json:"response_body"`
	ResponseBodyTruncated bool      `json:"response_body_truncated"`
	Outcome               string    `json:"outcome"`
}

func (a attemptView) duration(t *testing.T) time.Duration {
	d, err := time.ParseDuration(a.Duration)
	if err != nil {
		t.Fatalf("duration %q: %v", a.Duration, err)
	}
	return d
}

// outcomes lists the attempts' outcomes, oldest first.
func (d deliveryView) outcomes() string {
	var out []string
	for _, a := range d.AttemptLog {
		out = append(out, a.Outcome)
	}
	return strings.Join(out, ",")
}

// deliveries reads GET /api/v1/tickets/{n}/deliveries.
func (f *fixture) deliveries(t *testing.T, number int64) []deliveryView {
	t.Helper()
	code, _, body := do(t, "GET", f.srv.base+"/api/v1/tickets/"+itoa(number)+"/deliveries", f.staffToken, nil, "")
	if code != http.StatusOK {
		t.Fatalf("GET deliveries: %d %s", code, body)
	}
	var v struct {
		OK   bool `json:"ok"`
		Data struct {
			Deliveries []deliveryView `json:"deliveries"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &v); err != nil || !v.OK {
		t.Fatalf("decode deliveries: %v\n%s", err, body)
	}
	return v.Data.Deliveries
}

// waitDelivery polls the ticket's latest delivery until cond holds.
func (f *fixture) waitDelivery(t *testing.T, number int64, what string, cond func(deliveryView) bool) deliveryView {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ds := f.deliveries(t, number)
		if len(ds) > 0 && cond(ds[0]) {
			return ds[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; deliveries: %+v", what, ds)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fixture) redeliver(t *testing.T, token string, number, id int64) (int, []byte) {
	t.Helper()
	code, _, body := do(t, "POST", f.srv.base+"/api/v1/tickets/"+itoa(number)+"/deliveries/"+itoa(id)+":redeliver", token, nil, "{}")
	return code, body
}

// TestDeliverySlowRemote: a remote slower than the intervention's timeout
// is a transient failure; the next attempt gets through.
func TestDeliverySlowRemote(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		fr := newFaultRemote(t, func(n int, h hit, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				select { // far beyond the 1 s timeout; ends when Tickiti hangs up
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				return
			}
			final(w, h)
		})
		f := newFaultFixture(t, url, fr.URL, fastOpts)
		f.db.Intervention.Update().SetRemoteTimeoutSeconds(1).ExecX(context.Background())
		f.mustCreate(t)
		f.mustSubmit(t, 100001)
		d := f.waitDelivery(t, 100001, "completion", func(d deliveryView) bool { return d.State == "completed" })
		if d.outcomes() != "transient,success" || d.Attempts != 2 {
			t.Fatalf("attempts: %s (%d)", d.outcomes(), d.Attempts)
		}
		slow := d.AttemptLog[0]
		if slow.HTTPStatus != 0 || slow.Error != "no answer within the 1s timeout" || slow.duration(t) < time.Second {
			t.Errorf("slow attempt: %+v", slow)
		}
		if ok := d.AttemptLog[1]; ok.HTTPStatus != 200 || ok.Error != "" || !strings.Contains(ok.ResponseBody, "ORD-10021") {
			t.Errorf("successful attempt: %+v", ok)
		}
	})
}

// TestDeliveryConnectionRefused: nothing listens at the epilog URL for a
// while; attempts fail with a network error until the remote comes up on
// that port.
func TestDeliveryConnectionRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // connections to addr are refused from now on
		fr := &faultRemote{serve: func(_ int, h hit, w http.ResponseWriter, _ *http.Request) { final(w, h) }}
		// Slow enough a schedule for the remote to come up before it ends.
		slow := delivery.Options{Poll: 20 * time.Millisecond, Schedule: []time.Duration{0, 50 * time.Millisecond,
			100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond,
			time.Second, time.Second, time.Second, time.Second, 2 * time.Second, 5 * time.Second}}
		f := newFaultFixture(t, url, "http://"+addr+"/epilog", slow)
		f.mustCreate(t)
		f.mustSubmit(t, 100001)
		d := f.waitDelivery(t, 100001, "two refused connections", func(d deliveryView) bool { return d.Attempts >= 2 })
		for _, a := range d.AttemptLog {
			if a.Outcome != "transient" || a.HTTPStatus != 0 || !strings.Contains(a.Error, "connection refused") {
				t.Errorf("attempt while down: %+v", a)
			}
		}

		ln, err = net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("reopen %s: %v", addr, err)
		}
		fr.Server = httptest.NewUnstartedServer(fr)
		fr.Listener.Close()
		fr.Listener = ln
		fr.Start()
		t.Cleanup(fr.Close)
		d = f.waitDelivery(t, 100001, "completion", func(d deliveryView) bool { return d.State == "completed" })
		if n := len(d.AttemptLog); n < 3 || d.AttemptLog[n-1].Outcome != "success" || len(fr.received()) != 1 {
			t.Errorf("after recovery: %s, %d calls", d.outcomes(), len(fr.received()))
		}
	})
}

// TestDelivery500Then200: a 5xx is retried; its status and body are
// recorded.
func TestDelivery500Then200(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		fr := newFaultRemote(t, func(n int, h hit, w http.ResponseWriter, _ *http.Request) {
			if n == 1 {
				answer(w, http.StatusInternalServerError, `{"error":"database is down"}`)
				return
			}
			final(w, h)
		})
		f := newFaultFixture(t, url, fr.URL, fastOpts)
		f.mustCreate(t)
		f.mustSubmit(t, 100001)
		d := f.waitDelivery(t, 100001, "completion", func(d deliveryView) bool { return d.State == "completed" })
		if d.outcomes() != "transient,success" {
			t.Fatalf("attempts: %s", d.outcomes())
		}
		if a := d.AttemptLog[0]; a.HTTPStatus != 500 || a.Error != "HTTP 500" || a.ResponseBody != `{"error":"database is down"}` {
			t.Errorf("500 attempt: %+v", a)
		}
		hits := fr.received()
		if len(hits) != 2 || hits[0].header.Get("webhook-id") != hits[1].header.Get("webhook-id") || hits[0].header.Get("webhook-id") != d.DeliveryID {
			t.Errorf("want 2 calls with the delivery id %s", d.DeliveryID)
		}
	})
}

// TestDelivery429RetryAfter: a 429's Retry-After postpones the next attempt
// beyond the (much shorter) schedule.
func TestDelivery429RetryAfter(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		fr := newFaultRemote(t, func(n int, h hit, w http.ResponseWriter, _ *http.Request) {
			if n == 1 {
				w.Header().Set("Retry-After", "2")
				answer(w, http.StatusTooManyRequests, `{"error":"slow down"}`)
				return
			}
			final(w, h)
		})
		f := newFaultFixture(t, url, fr.URL, fastOpts)
		f.mustCreate(t)
		f.mustSubmit(t, 100001)
		d := f.waitDelivery(t, 100001, "the 429", func(d deliveryView) bool { return d.Attempts == 1 })
		if d.State != "pending" || d.NextAttemptTime == nil || len(d.AttemptLog) != 1 {
			t.Fatalf("after the 429: %+v", d)
		}
		if a := d.AttemptLog[0]; a.HTTPStatus != 429 || a.Outcome != "transient" {
			t.Errorf("429 attempt: %+v", a)
		}
		if wait := d.NextAttemptTime.Sub(d.AttemptLog[0].StartTime); wait < 2*time.Second {
			t.Errorf("next attempt %s after the 429, want at least the Retry-After of 2s", wait)
		}
		d = f.waitDelivery(t, 100001, "completion", func(d deliveryView) bool { return d.State == "completed" })
		hits := fr.received()
		if len(hits) != 2 {
			t.Fatalf("%d calls", len(hits))
		}
		if gap := hits[1].at.Sub(hits[0].at); gap < 2*time.Second {
			t.Errorf("retried %s after the 429, before its Retry-After", gap)
		}
	})
}

// TestDelivery401ThenRedeliver: a 401 is permanent (a wrong token does not
// fix itself): the delivery fails at once, shows in the failed listing and
// the metrics, and once the token is fixed staff redeliver it by hand; the
// remote sees the same delivery id and body.
func TestDelivery401ThenRedeliver(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		fr := newFaultRemote(t, func(_ int, h hit, w http.ResponseWriter, _ *http.Request) {
			if h.header.Get("Authorization") != "Bearer fixed-token" {
				answer(w, http.StatusUnauthorized, `{"error":"bad token"}`)
				return
			}
			final(w, h)
		})
		f := newFaultFixture(t, url, fr.URL, fastOpts)
		f.mustCreate(t)
		f.mustSubmit(t, 100001)
		d := f.waitDelivery(t, 100001, "failure", func(d deliveryView) bool { return d.State == "failed" })
		if d.outcomes() != "permanent" || d.LastError != "HTTP 401" || d.NextAttemptTime != nil {
			t.Fatalf("failed delivery: %+v", d)
		}
		failed := f.listDeliveries(t, "state=failed")
		if len(failed.Deliveries) != 1 || failed.Deliveries[0].ID != d.ID || failed.Deliveries[0].TicketNumber != 100001 ||
			failed.Deliveries[0].Intervention != "discount_request" {
			t.Errorf("failed listing: %+v", failed)
		}
		metrics := scrape(t, f.srv.base)
		for _, line := range []string{`tickiti_deliveries{state="failed"} 1`, `tickiti_deliveries_failed_total 1`,
			`tickiti_delivery_attempts_total{outcome="permanent"} 1`} {
			if !strings.Contains(metrics, "\n"+line+"\n") {
				t.Errorf("metrics lack %q:\n%s", line, metrics)
			}
		}

		// Redelivery needs tickets:write, the right ticket, and a failed
		// or refused delivery.
		reader := newToken(t, f.db, nil, auth.TicketsRead)
		if code, body := f.redeliver(t, reader, 100001, d.ID); code != http.StatusForbidden {
			t.Errorf("redeliver with tickets:read: %d %s", code, body)
		}
		if code, body := f.redeliver(t, f.staffToken, 100002, d.ID); code != http.StatusNotFound {
			t.Errorf("redeliver on another ticket: %d %s", code, body)
		}

		f.db.Intervention.Update().Where(intervention.Name("discount_request")).SetRemoteToken("fixed-token").ExecX(context.Background())
		code, body := f.redeliver(t, f.staffToken, 100001, d.ID)
		if code != http.StatusOK || !strings.Contains(string(body), `"redeliveries":1`) {
			t.Fatalf("redeliver: %d %s", code, body)
		}
		d = f.waitDelivery(t, 100001, "completion", func(d deliveryView) bool { return d.State == "completed" })
		if d.outcomes() != "permanent,success" || d.Attempts != 1 || d.Redeliveries != 1 {
			t.Errorf("after redelivery: %+v", d)
		}
		hits := fr.received()
		if len(hits) != 2 || hits[1].header.Get("webhook-id") != d.DeliveryID || hits[0].header.Get("webhook-id") != d.DeliveryID ||
			string(hits[0].body) != string(hits[1].body) {
			t.Errorf("the redelivery is not the same call: %d calls", len(hits))
		}
		if v := f.ticket(t, 100001); v.Data.Intervention.Status != "completed" {
			t.Errorf("payload: %+v", v.Data.Intervention)
		}
		if code, body := f.redeliver(t, f.staffToken, 100001, d.ID); code != http.StatusConflict {
			t.Errorf("redeliver a completed delivery: %d %s", code, body)
		}
		if n := len(f.listDeliveries(t, "state=failed").Deliveries); n != 0 {
			t.Errorf("%d failed deliveries after the redelivery", n)
		}
	})
}

// TestDeliveryNotJSON: a 2xx whose body is not the expected JSON (an HTML
// page, an object without "ok") is recorded as such and retried.
func TestDeliveryNotJSON(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		fr := newFaultRemote(t, func(n int, h hit, w http.ResponseWriter, _ *http.Request) {
			switch n {
			case 1:
				w.Header().Set("Content-Type", "text/html")
				_, _ = io.WriteString(w, "<html><body>Please log in</body></html>")
			case 2:
				answer(w, http.StatusOK, `{"status": "fine"}`)
			default:
				final(w, h)
			}
		})
		f := newFaultFixture(t, url, fr.URL, fastOpts)
		f.mustCreate(t)
		f.mustSubmit(t, 100001)
		d := f.waitDelivery(t, 100001, "completion", func(d deliveryView) bool { return d.State == "completed" })
		if d.outcomes() != "invalid_answer,invalid_answer,success" {
			t.Fatalf("attempts: %s", d.outcomes())
		}
		html, noOK := d.AttemptLog[0], d.AttemptLog[1]
		if html.HTTPStatus != 200 || !strings.Contains(html.Error, "not the expected JSON") || !strings.Contains(html.ResponseBody, "Please log in") {
			t.Errorf("HTML attempt: %+v", html)
		}
		if !strings.Contains(noOK.Error, `no "ok" member`) {
			t.Errorf("answer without ok: %+v", noOK)
		}
	})
}

// TestDeliveryHugeAnswer: an endless answer is read up to 64 KiB, not to
// its end; a little of it is kept with the attempt.
func TestDeliveryHugeAnswer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		fr := newFaultRemote(t, func(n int, h hit, w http.ResponseWriter, r *http.Request) {
			if n > 1 {
				final(w, h)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok": true, "message": "`)
			chunk := []byte(strings.Repeat("x", 32<<10))
			for r.Context().Err() == nil { // until Tickiti hangs up
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		})
		f := newFaultFixture(t, url, fr.URL, fastOpts)
		f.mustCreate(t)
		f.mustSubmit(t, 100001)
		d := f.waitDelivery(t, 100001, "completion", func(d deliveryView) bool { return d.State == "completed" })
		if d.outcomes() != "invalid_answer,success" {
			t.Fatalf("attempts: %s", d.outcomes())
		}
		a := d.AttemptLog[0]
		if a.Error != "HTTP 200, but the answer is larger than 65536 bytes" || !a.ResponseBodyTruncated ||
			len(a.ResponseBody) != 2048 || !strings.HasPrefix(a.ResponseBody, `{"ok": true`) {
			t.Errorf("huge attempt: %s (body %d bytes, truncated %v)", a.Error, len(a.ResponseBody), a.ResponseBodyTruncated)
		}
	})
}

// TestDeliveryFinalMismatch: a final block for another response is not
// applied; the delivery is delivered with the mismatch recorded for staff.
func TestDeliveryFinalMismatch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		fr := newFaultRemote(t, func(_ int, h hit, w http.ResponseWriter, _ *http.Request) {
			answer(w, http.StatusOK, `{"ok": true, "final": {"response_id": 999999, "ticket_audit": "Applied.", "remote_reference": "ORD-1"}}`)
		})
		f := newFaultFixture(t, url, fr.URL, fastOpts)
		f.mustCreate(t)
		f.mustSubmit(t, 100001)
		d := f.waitDelivery(t, 100001, "delivery", func(d deliveryView) bool { return d.State != "pending" })
		if d.State != "delivered" || d.outcomes() != "success" || !strings.Contains(d.LastError, "response_id 999999 does not match") ||
			d.AttemptLog[0].Error != d.LastError {
			t.Fatalf("delivery: %+v", d)
		}
		v := f.ticket(t, 100001)
		iv := v.Data.Intervention
		if iv.Status != "delivered" || iv.RemoteReference != "" || !strings.Contains(iv.RemoteMessage, "was not applied") {
			t.Errorf("payload: %+v", iv)
		}
		for _, r := range v.Data.Responses {
			if r.Audit != "" || strings.HasPrefix(r.Content, "Your discount is confirmed") {
				t.Errorf("mismatched final applied: %+v", r)
			}
		}
		if len(fr.received()) != 1 {
			t.Errorf("%d calls", len(fr.received()))
		}
	})
}

// TestDeliveryRefusedRedeliver: a refused decision can be sent again as it
// was while staff have not submitted a new one; an older, replaced delivery
// cannot.
func TestDeliveryRefusedRedeliver(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		fr := newFaultRemote(t, func(n int, h hit, w http.ResponseWriter, _ *http.Request) {
			if n <= 2 {
				answer(w, http.StatusOK, `{"ok": false, "message": "Stock system busy, try later."}`)
				return
			}
			final(w, h)
		})
		f := newFaultFixture(t, url, fr.URL, fastOpts)
		f.mustCreate(t)
		f.mustSubmit(t, 100001)
		first := f.waitDelivery(t, 100001, "refusal", func(d deliveryView) bool { return d.State == "refused" })
		if iv := f.ticket(t, 100001).Data.Intervention; iv.Status != "open" || iv.RemoteMessage != "Stock system busy, try later." {
			t.Fatalf("after the refusal: %+v", iv)
		}
		f.mustSubmit(t, 100001)
		second := f.waitDelivery(t, 100001, "second refusal", func(d deliveryView) bool { return d.ID != first.ID && d.State == "refused" })
		if code, body := f.redeliver(t, f.staffToken, 100001, first.ID); code != http.StatusConflict || !strings.Contains(string(body), "newer submission") {
			t.Errorf("redeliver the replaced delivery: %d %s", code, body)
		}
		if code, body := f.redeliver(t, f.staffToken, 100001, second.ID); code != http.StatusOK {
			t.Fatalf("redeliver: %d %s", code, body)
		}
		if iv := f.ticket(t, 100001).Data.Intervention; iv.Status != "submitted" && iv.Status != "completed" {
			t.Errorf("payload after redelivery: %+v", iv)
		}
		d := f.waitDelivery(t, 100001, "completion", func(d deliveryView) bool { return d.State == "completed" })
		if d.ID != second.ID || d.outcomes() != "refused,success" || d.AttemptLog[0].Error != "Stock system busy, try later." {
			t.Errorf("delivery: %+v", d)
		}
		hits := fr.received()
		if len(hits) != 3 || string(hits[1].body) != string(hits[2].body) || hits[1].header.Get("webhook-id") != hits[2].header.Get("webhook-id") {
			t.Errorf("the redelivery differs from the refused call")
		}
		if iv := f.ticket(t, 100001).Data.Intervention; iv.Status != "completed" || iv.RemoteMessage != "" {
			t.Errorf("payload: %+v", iv)
		}
	})
}

// TestDeliveryExhausted: a remote that never recovers fails the delivery
// after the last attempt of the schedule.
func TestDeliveryExhausted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		fr := newFaultRemote(t, func(_ int, _ hit, w http.ResponseWriter, _ *http.Request) {
			answer(w, http.StatusBadGateway, "bad gateway")
		})
		f := newFaultFixture(t, url, fr.URL, fastOpts)
		f.mustCreate(t)
		f.mustSubmit(t, 100001)
		d := f.waitDelivery(t, 100001, "failure", func(d deliveryView) bool { return d.State == "failed" })
		if d.Attempts != len(fastSchedule) || d.outcomes() != "transient,transient,transient,transient" || len(fr.received()) != len(fastSchedule) {
			t.Errorf("exhausted delivery: %+v", d)
		}
		if v := f.ticket(t, 100001); v.Data.Intervention.Status != "submitted" || v.Data.Intervention.Delivery.State != "failed" {
			t.Errorf("payload: %+v", v.Data.Intervention)
		}
	})
}

// TestDeliverySignatures: with a signing secret every call carries Standard
// Webhooks headers that pkg/webhook verifies; during a rotation's overlap
// both the old and the new secret verify, after it only the new one.
func TestDeliverySignatures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		fr := newFaultRemote(t, func(_ int, h hit, w http.ResponseWriter, _ *http.Request) { final(w, h) })
		f := newFaultFixture(t, url, fr.URL, fastOpts)
		svc := f.srv.Service()
		ctx := context.Background()
		deliver := func(i int) hit {
			t.Helper()
			n := f.createNumbered(t, i)
			f.mustSubmit(t, n)
			f.waitDelivery(t, n, "completion", func(d deliveryView) bool { return d.State == "completed" })
			hits := fr.received()
			return hits[len(hits)-1]
		}

		// No secret yet: unsigned, with the id only.
		h := deliver(1)
		if h.header.Get("webhook-signature") != "" || h.header.Get("webhook-timestamp") != "" || !strings.HasPrefix(h.header.Get("webhook-id"), "msg_") {
			t.Errorf("unsigned call headers: %v", h.header)
		}

		s1, err := svc.RotateSigningSecret(ctx, nil, "discount_request", 24*time.Hour)
		if err != nil || !strings.HasPrefix(s1, "whsec_") {
			t.Fatalf("first secret: %q %v", s1, err)
		}
		h = deliver(2)
		if err := webhook.Verify(s1, h.header, h.body, time.Minute); err != nil {
			t.Errorf("signed with s1: %v", err)
		}
		if ts, _ := strconv.ParseInt(h.header.Get("webhook-timestamp"), 10, 64); time.Since(time.Unix(ts, 0)) > time.Minute {
			t.Errorf("timestamp %d", ts)
		}
		if n := len(strings.Fields(h.header.Get("webhook-signature"))); n != 1 {
			t.Errorf("%d signatures without a rotation", n)
		}

		s2, err := svc.RotateSigningSecret(ctx, nil, "discount_request", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		h = deliver(3)
		if n := len(strings.Fields(h.header.Get("webhook-signature"))); n != 2 {
			t.Errorf("%d signatures during the overlap, want 2", n)
		}
		for _, s := range []string{s1, s2} {
			if err := webhook.Verify(s, h.header, h.body, time.Minute); err != nil {
				t.Errorf("during the overlap, %s: %v", s[:10], err)
			}
		}

		s3, err := svc.RotateSigningSecret(ctx, nil, "discount_request", 0)
		if err != nil {
			t.Fatal(err)
		}
		h = deliver(4)
		if err := webhook.Verify(s3, h.header, h.body, time.Minute); err != nil {
			t.Errorf("signed with s3: %v", err)
		}
		if err := webhook.Verify(s2, h.header, h.body, time.Minute); !errors.Is(err, webhook.ErrSignature) {
			t.Errorf("s2 after a rotation without overlap: %v", err)
		}
		if _, err := svc.RotateSigningSecret(ctx, nil, "no_such_intervention", 0); err == nil {
			t.Errorf("rotating an unknown intervention succeeded")
		}
	})
}

// listed is the REST answer of ListDeliveries.
type listed struct {
	Deliveries    []deliveryView `json:"deliveries"`
	NextPageToken string         `json:"next_page_token"`
}

func (f *fixture) listDeliveries(t *testing.T, query string) listed {
	t.Helper()
	code, _, body := do(t, "GET", f.srv.base+"/api/v1/deliveries?"+query, f.staffToken, nil, "")
	if code != http.StatusOK {
		t.Fatalf("list deliveries ?%s: %d %s", query, code, body)
	}
	var v struct {
		Data listed `json:"data"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	return v.Data
}

func scrape(t *testing.T, base string) string {
	t.Helper()
	code, hdr, body := do(t, "GET", base+"/metrics", "", nil, "")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	return string(body)
}

// TestFailedListingPages: the failed listing spans tickets, newest first,
// a page at a time.
func TestFailedListingPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		fr := newFaultRemote(t, func(_ int, _ hit, w http.ResponseWriter, _ *http.Request) {
			answer(w, http.StatusBadRequest, `{"error":"unknown order"}`)
		})
		f := newFaultFixture(t, url, fr.URL, fastOpts)
		for i := 1; i <= 5; i++ {
			f.mustSubmit(t, f.createNumbered(t, i))
		}
		for i := int64(1); i <= 5; i++ {
			f.waitDelivery(t, 100000+i, "failure", func(d deliveryView) bool { return d.State == "failed" })
		}
		var seen []int64
		query := "state=failed&page_size=2"
		for page := 0; ; page++ {
			l := f.listDeliveries(t, query)
			if page < 2 && (len(l.Deliveries) != 2 || l.NextPageToken == "") || page == 2 && (len(l.Deliveries) != 1 || l.NextPageToken != "") {
				t.Fatalf("page %d: %+v", page, l)
			}
			for _, d := range l.Deliveries {
				seen = append(seen, d.TicketNumber)
			}
			if l.NextPageToken == "" {
				break
			}
			query = "state=failed&page_size=2&page_token=" + l.NextPageToken
		}
		if want := []int64{100005, 100004, 100003, 100002, 100001}; !equalInts(seen, want) {
			t.Errorf("listed tickets %v, want %v", seen, want)
		}
		if l := f.listDeliveries(t, ""); len(l.Deliveries) != 5 {
			t.Errorf("all states: %d", len(l.Deliveries))
		}
		if l := f.listDeliveries(t, "state=completed"); len(l.Deliveries) != 0 {
			t.Errorf("completed: %d", len(l.Deliveries))
		}
		token := f.listDeliveries(t, "state=failed&page_size=1").NextPageToken
		for _, q := range []string{"state=bogus", "page_size=-1", "state=pending&page_token=" + token, "state=failed&page_token=garbage"} {
			code, _, body := do(t, "GET", f.srv.base+"/api/v1/deliveries?"+q, f.staffToken, nil, "")
			if code != http.StatusUnprocessableEntity {
				t.Errorf("?%s: %d %s", q, code, body)
			}
		}
		if code, _, _ := do(t, "GET", f.srv.base+"/api/v1/deliveries", f.createToken, nil, ""); code != http.StatusForbidden {
			t.Errorf("listing with a create-ticket token: %d", code)
		}
	})
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

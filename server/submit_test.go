package server_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tickiti/tickiti/ent/delivery"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/dbtest"
)

func (f *fixture) submit(t *testing.T, number, body string) (int, []byte) {
	t.Helper()
	code, _, b := do(t, "POST", f.srv.base+"/api/v1/tickets/"+number+"/intervention:submit", f.staffToken, nil, body)
	return code, b
}

func (f *fixture) mustCreate(t *testing.T) {
	t.Helper()
	if code, _, body := f.createTicket(t, "k-"+t.Name(), seedBody); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
}

// TestSubmitRules: staff values are checked against the fields, the
// staff abilities are required, and nothing is lost on a refusal.
func TestSubmitRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, finalAnswer)
		f.mustCreate(t)
		for _, c := range []struct {
			body, field string
		}{
			{`{"data": {"accept": "yes"}}`, "data.accept"},
			{`{"data": {"no_such_key": 1}}`, "data.no_such_key"},
			{`{"data": {"order_price": {"amount": 1}}}`, "data.order_price"},
		} {
			code, body := f.submit(t, "100001", c.body)
			if code != http.StatusUnprocessableEntity || len(decodeError(t, body).Errors[c.field]) == 0 {
				t.Errorf("%s: %d %s", c.body, code, body)
			}
		}
		if code, body := f.submit(t, "100999", `{"data": {}}`); code != http.StatusNotFound || decodeError(t, body).Error != "not_found" {
			t.Errorf("unknown ticket: %d %s", code, body)
		}
		// A create-ticket token may not read or decide tickets.
		for _, r := range []struct{ method, path, body string }{
			{"GET", "/api/v1/tickets/100001", ""},
			{"POST", "/api/v1/tickets/100001/intervention:submit", `{"data": {}}`},
		} {
			code, _, body := do(t, r.method, f.srv.base+r.path, f.createToken, nil, r.body)
			if code != http.StatusForbidden || decodeError(t, body).Error != "forbidden" {
				t.Errorf("%s %s with a create-ticket token: %d %s", r.method, r.path, code, body)
			}
		}
		// A read-only token may read but not submit.
		reader := newToken(t, f.db, nil, auth.TicketsRead)
		if code, _, body := do(t, "POST", f.srv.base+"/api/v1/tickets/100001/intervention:submit", reader, nil, `{}`); code != http.StatusForbidden {
			t.Errorf("submit with tickets:read: %d %s", code, body)
		}
		// The refusals left the payload open and the data bag untouched.
		v := f.ticket(t, 100001)
		if v.Data.Intervention.Status != "open" || v.Data.Intervention.Data["accept"] != false || len(v.Data.Responses) != 2 {
			t.Errorf("after refusals: %+v", v.Data)
		}
	})
}

// TestRemoteFailsThenRecovers: a remote answering 503 is retried until it
// answers; the decision is delivered, and the final applied, once.
func TestRemoteFailsThenRecovers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, func(n int, c call) (int, string) {
			if n <= 2 {
				return http.StatusServiceUnavailable, `{"message":"down for maintenance"}`
			}
			return finalAnswer(n, c)
		})
		f.mustCreate(t)
		if code, body := f.submit(t, "100001", `{"data": {"accept": true}}`); code != http.StatusOK {
			t.Fatalf("submit: %d %s", code, body)
		}
		v := f.waitFor(t, 100001, "completion", func(v ticketView) bool { return v.Data.Intervention.Status == "completed" })
		calls := f.remote.received()
		if len(calls) != 3 {
			t.Errorf("remote got %d calls, want 3", len(calls))
		}
		ids := map[string]bool{}
		for _, c := range calls {
			ids[c.header.Get("Tickiti-Delivery-Id")] = true
		}
		if len(ids) != 1 {
			t.Errorf("delivery ids across retries: %v, want one", ids)
		}
		if d := v.Data.Intervention.Delivery; d.Attempts != 3 || d.State != "completed" {
			t.Errorf("delivery: %+v", d)
		}
		finals := 0
		for _, r := range v.Data.Responses {
			if strings.HasPrefix(r.Content, "Your discount is confirmed.") {
				finals++
			}
		}
		if finals != 1 {
			t.Errorf("%d final responses, want 1", finals)
		}
	})
}

// TestDeliveryAfterRestart: a submission stored while the remote is down
// is delivered by the next Tickiti process on the same database.
func TestDeliveryAfterRestart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		var up atomic.Bool
		f := newFixture(t, url, func(n int, c call) (int, string) {
			if !up.Load() {
				return http.StatusBadGateway, "remote down"
			}
			return finalAnswer(n, c)
		})
		f.mustCreate(t)
		if code, body := f.submit(t, "100001", `{"data": {"accept": true}}`); code != http.StatusOK {
			t.Fatalf("submit: %d %s", code, body)
		}
		f.waitFor(t, 100001, "a failed attempt", func(v ticketView) bool { return v.Data.Intervention.Delivery.Attempts >= 1 })
		f.srv.stop()
		if d := f.db.Delivery.Query().OnlyX(context.Background()); d.State != delivery.StatePending {
			t.Fatalf("delivery after the first process: %s (%s)", d.State, d.LastError)
		}

		up.Store(true)
		f.srv = start(t, url)
		v := f.waitFor(t, 100001, "completion after restart", func(v ticketView) bool { return v.Data.Intervention.Status == "completed" })
		if v.Data.Intervention.RemoteReference != "ORD-10021" {
			t.Errorf("after restart: %+v", v.Data.Intervention)
		}
	})
}

// TestRemoteRefuses: {"ok": false} hands the decision back to staff with the
// remote's message; they edit and submit again, with a new response id.
func TestRemoteRefuses(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, func(n int, c call) (int, string) {
			if n == 1 {
				return http.StatusOK, `{"ok": false, "message": "The discount is above the 10% limit."}`
			}
			return finalAnswer(n, c)
		})
		f.mustCreate(t)
		if code, body := f.submit(t, "100001", `{"data": {"order_price": 50, "accept": true}}`); code != http.StatusOK {
			t.Fatalf("submit: %d %s", code, body)
		}
		v := f.waitFor(t, 100001, "refusal", func(v ticketView) bool { return v.Data.Intervention.Delivery.State == "refused" })
		if iv := v.Data.Intervention; iv.Status != "open" || iv.RemoteMessage != "The discount is above the 10% limit." {
			t.Fatalf("after refusal: %+v", iv)
		}
		if code, body := f.submit(t, "100001", `{"data": {"order_price": 95}}`); code != http.StatusOK {
			t.Fatalf("second submit: %d %s", code, body)
		}
		v = f.waitFor(t, 100001, "completion", func(v ticketView) bool { return v.Data.Intervention.Status == "completed" })
		calls := f.remote.received()
		if len(calls) != 2 || calls[0].header.Get("Tickiti-Delivery-Id") == calls[1].header.Get("Tickiti-Delivery-Id") {
			t.Errorf("want two calls with two delivery ids, got %d", len(calls))
		}
		if !strings.Contains(string(calls[1].body), `"order_price":95`) || !strings.Contains(string(calls[1].body), `"accept":true`) {
			t.Errorf("second epilog body: %s", calls[1].body)
		}
	})
}

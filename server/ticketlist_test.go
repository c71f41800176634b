package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/tickiti/tickiti/server/dbtest"
)

// listView is the JSON of GET /api/v1/tickets.
type listView struct {
	OK   bool `json:"ok"`
	Data struct {
		Tickets []struct {
			Number             int64  `json:"number"`
			ID                 int64  `json:"id"`
			Queue              string `json:"queue"`
			UID                string `json:"uid"`
			Intervention       string `json:"intervention"`
			InterventionStatus string `json:"intervention_status"`
			Originator         struct {
				EmailAddress string `json:"email_address"`
			} `json:"originator"`
		} `json:"tickets"`
		NextPageToken string `json:"next_page_token"`
		QueueCounts   []struct {
			Queue string `json:"queue"`
			Count int64  `json:"count"`
		} `json:"queue_counts"`
	} `json:"data"`
}

func (f *fixture) list(t *testing.T, q url.Values) listView {
	t.Helper()
	code, _, body := do(t, "GET", f.srv.base+"/api/v1/tickets?"+q.Encode(), f.staffToken, nil, "")
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/tickets?%s: %d %s", q.Encode(), code, body)
	}
	var v listView
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	return v
}

func numbers(v listView) []int64 {
	var out []int64
	for _, t := range v.Data.Tickets {
		out = append(out, t.Number)
	}
	return out
}

// TestListTickets: the work queue over REST — newest first, pages,
// filters, search and counts per queue.
func TestListTickets(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dburl string) {
		f := newFixture(t, dburl, finalAnswer)
		f.db.Queue.Create().SetName("Billing").ExecX(t.Context())
		for i := 1; i <= 3; i++ {
			body := fmt.Sprintf(`{"originator_email_address": "buyer%d@example.com", "intervention": "discount_request",
				"uid": "order-%d", "data": {"data": {"currency": "GBP", "order_price": 100, "accept": false}}}`, i, i)
			if code, _, b := f.createTicket(t, fmt.Sprintf("list-%d", i), body); code != http.StatusCreated {
				t.Fatalf("create: %d %s", code, b)
			}
		}
		if code, b := f.submit(t, "100002", `{"data": {"accept": true}}`); code != http.StatusOK {
			t.Fatalf("submit: %d %s", code, b)
		}

		all := f.list(t, url.Values{})
		if got := numbers(all); fmt.Sprint(got) != "[100003 100002 100001]" {
			t.Errorf("newest first: %v", got)
		}
		first := all.Data.Tickets[0]
		if first.ID != 3 || first.Queue != "Inbox" || first.UID != "order-3" || first.Intervention != "discount_request" ||
			first.InterventionStatus != "open" || first.Originator.EmailAddress != "buyer3@example.com" {
			t.Errorf("summary = %+v", first)
		}
		if got := fmt.Sprint(all.Data.QueueCounts); got != "[{Billing 0} {Inbox 3}]" {
			t.Errorf("counts = %s", got)
		}

		// Pages: two, then one, with no repeats.
		p1 := f.list(t, url.Values{"page_size": {"2"}})
		if fmt.Sprint(numbers(p1)) != "[100003 100002]" || p1.Data.NextPageToken == "" {
			t.Fatalf("page 1: %v %q", numbers(p1), p1.Data.NextPageToken)
		}
		p2 := f.list(t, url.Values{"page_size": {"2"}, "page_token": {p1.Data.NextPageToken}})
		if fmt.Sprint(numbers(p2)) != "[100001]" || p2.Data.NextPageToken != "" {
			t.Errorf("page 2: %v %q", numbers(p2), p2.Data.NextPageToken)
		}
		// A page token belongs to its filters.
		code, _, body := do(t, "GET", f.srv.base+"/api/v1/tickets?intervention_status=open&page_token="+p1.Data.NextPageToken, f.staffToken, nil, "")
		if code != http.StatusUnprocessableEntity || len(decodeError(t, body).Errors["page_token"]) == 0 {
			t.Errorf("token with other filters: %d %s", code, body)
		}

		for q, want := range map[string]string{
			"100002":          "[100002]", // ticket number
			"#100001":         "[100001]", // as staff write it
			"order-3":         "[100003]", // uid
			"BUYER1@example":  "[100001]", // customer address, any case
			"example.com":     "[100003 100002 100001]",
			"nothing-matches": "[]",
		} {
			if got := fmt.Sprint(numbers(f.list(t, url.Values{"query": {q}}))); got != want {
				t.Errorf("query %q: %s, want %s", q, got, want)
			}
		}
		open := f.list(t, url.Values{"intervention_status": {"open"}})
		if got := fmt.Sprint(numbers(open)); got != "[100003 100001]" {
			t.Errorf("open: %s", got)
		}
		if got := fmt.Sprint(open.Data.QueueCounts); got != "[{Billing 0} {Inbox 2}]" {
			t.Errorf("open counts: %s", got)
		}
		if got := numbers(f.list(t, url.Values{"queue": {"Billing"}})); len(got) != 0 {
			t.Errorf("Billing: %v", got)
		}
		if got := numbers(f.list(t, url.Values{"queue": {"Inbox"}, "intervention_status": {"open"}, "query": {"order-1"}})); fmt.Sprint(got) != "[100001]" {
			t.Errorf("Inbox, open, order-1: %v", got)
		}

		code, _, body = do(t, "GET", f.srv.base+"/api/v1/tickets?intervention_status=lost", f.staffToken, nil, "")
		if code != http.StatusUnprocessableEntity || len(decodeError(t, body).Errors["intervention_status"]) == 0 {
			t.Errorf("bad status: %d %s", code, body)
		}
		// The policy: tickets:read.
		if code, _, body := do(t, "GET", f.srv.base+"/api/v1/tickets", f.createToken, nil, ""); code != http.StatusForbidden {
			t.Errorf("create-ticket token lists tickets: %d %s", code, body)
		}
	})
}

package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/grpcapi"
)

// The RPCs whose policies guard the ticket pages.
const (
	listTickets    = v1.TicketService_ListTickets_FullMethodName
	getTicket      = v1.TicketService_GetTicket_FullMethodName
	submitDecision = v1.TicketService_SubmitIntervention_FullMethodName
	listDeliveries = v1.DeliveryService_ListTicketDeliveries_FullMethodName
	redeliver      = v1.DeliveryService_RedeliverDelivery_FullMethodName
)

func (c *Console) routeTickets(mux *http.ServeMux) {
	mux.HandleFunc("GET /tickets", c.authed(listTickets, c.ticketList))
	mux.HandleFunc("GET /tickets/{number}", c.authed(getTicket, c.ticketPage))
	mux.HandleFunc("GET /tickets/{number}/live", c.authed(getTicket, c.ticketLive))
	mux.HandleFunc("POST /tickets/{number}/submit", c.authed(submitDecision, c.submit))
	mux.HandleFunc("POST /tickets/{number}/deliveries/{id}/redeliver", c.authed(redeliver, c.redeliver))
}

// Intervention statuses staff filter by, in the order work moves.
var statuses = []string{"open", "submitted", "delivered", "completed"}

type listView struct {
	Base
	Queue, Status, Query string
	Statuses             []string
	// Queues links every queue (and "All queues") with its count.
	Queues  []queueLink
	Tickets []*v1.TicketSummary
	// Next is the URL of the next page; First that of the first, when
	// this is not it.
	Next, First string
	Error       string
}

func (c *Console) ticketList(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	q := r.URL.Query()
	v := &listView{
		Base:  c.base(r, p, "Tickets"),
		Queue: q.Get("queue"), Status: q.Get("status"), Query: strings.TrimSpace(q.Get("q")),
		Statuses: statuses,
	}
	resp, err := c.svc.ListTickets(r.Context(), &v1.ListTicketsRequest{
		Queue: v.Queue, InterventionStatus: v.Status, Query: v.Query, PageSize: 25, PageToken: q.Get("page"),
	})
	if err != nil {
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Reason != apierr.ValidationFailed {
			c.fail(w, r, p, err)
			return
		}
		// A stale page link or a bad filter: say so above an empty list.
		v.Error = ae.Message
		if len(ae.Fields) > 0 {
			var msgs []string
			for _, k := range sortedKeys(ae.Fields) {
				msgs = append(msgs, ae.Fields[k]...)
			}
			v.Error = strings.Join(msgs, " ")
		}
		c.render(w, r, http.StatusUnprocessableEntity, "tickets", v)
		return
	}
	v.Tickets = resp.GetTickets()
	v.Queues = queueLinks(v, resp.GetQueueCounts())
	filters := listFilters(v.Queue, v.Status, v.Query)
	if tok := resp.GetNextPageToken(); tok != "" {
		next := url.Values{"page": {tok}}
		for k, vals := range filters {
			next[k] = vals
		}
		v.Next = listURL(next)
	}
	if q.Get("page") != "" {
		v.First = listURL(filters)
	}
	c.render(w, r, http.StatusOK, "tickets", v)
}

type queueLink struct {
	Name, URL string
	Count     int64
	Current   bool
}

// queueLinks lists "All queues" and every queue, keeping the other filters.
func queueLinks(v *listView, counts []*v1.QueueCount) []queueLink {
	var total int64
	out := []queueLink{{Name: "All queues", Current: v.Queue == ""}}
	for _, qc := range counts {
		total += qc.GetCount()
		out = append(out, queueLink{
			Name: qc.GetQueue(), Count: qc.GetCount(), Current: qc.GetQueue() == v.Queue,
			URL: listURL(listFilters(qc.GetQueue(), v.Status, v.Query)),
		})
	}
	out[0].Count, out[0].URL = total, listURL(listFilters("", v.Status, v.Query))
	return out
}

func listURL(q url.Values) string {
	if len(q) == 0 {
		return "/tickets"
	}
	return "/tickets?" + q.Encode()
}

// listFilters are the query parameters of a ticket listing.
func listFilters(queue, status, query string) url.Values {
	f := url.Values{}
	for k, val := range map[string]string{"queue": queue, "status": status, "q": query} {
		if val != "" {
			f.Set(k, val)
		}
	}
	return f
}

// ticketView is the ticket page, and the live part of it that the page
// re-fetches while a decision is on its way.
type ticketView struct {
	Base
	T *v1.Ticket
	// Fields is the intervention as a form; Others the rest of the data bag.
	Fields []*fieldView
	Others []bagEntry
	// Content is the response text staff typed (kept on a failed submit).
	Content string
	// Errors are the submission's problems that belong to no field.
	Errors []string
	// Deliveries are the ticket's epilog deliveries, newest first.
	Deliveries []*v1.Delivery
	// CanSubmit and CanRedeliver follow the user's rights and the state.
	CanSubmit, CanRedeliver bool
	// Poll is the URL the page polls for the live part, while a delivery
	// is pending; PollMS how often.
	Poll   string
	PollMS int64
	// Notice is a one-time message after an action.
	Notice string
}

func (c *Console) ticketPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v, err := c.loadTicket(r, p)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	v.Notice = notices[r.URL.Query().Get("done")]
	c.render(w, r, http.StatusOK, "ticket", v)
}

// notices are the messages an action leaves for the page it redirects to;
// the query names one, so no text from the address reaches the page.
var notices = map[string]string{
	"submitted":   "Your decision was recorded.",
	"redelivered": "The decision is being sent again.",
}

// ticketLive renders only the live part of the ticket page.
func (c *Console) ticketLive(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v, err := c.loadTicket(r, p)
	if err != nil {
		var ae *apierr.Error
		status := http.StatusInternalServerError
		if errors.As(err, &ae) {
			status = apierr.HTTPStatus(ae.Reason)
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	c.renderFragment(w, "ticket", v)
}

// loadTicket reads a ticket, its deliveries and what the user may do.
func (c *Console) loadTicket(r *http.Request, p *auth.Principal) (*ticketView, error) {
	number, err := strconv.ParseInt(r.PathValue("number"), 10, 64)
	if err != nil {
		return nil, apierr.New(apierr.NotFound, "There is no ticket %q.", r.PathValue("number"))
	}
	// The ticket and its deliveries come from one snapshot, so the page
	// never shows a delivery's outcome beside a payload status from before it.
	var t *v1.Ticket
	var deliveries []*v1.Delivery
	if grpcapi.Authorize(p, listDeliveries) == nil {
		t, deliveries, err = c.svc.TicketWithDeliveries(r.Context(), number)
	} else {
		t, err = c.svc.GetTicket(r.Context(), number)
	}
	if err != nil {
		return nil, err
	}
	v := &ticketView{Base: c.base(r, p, "Ticket "+strconv.FormatInt(number, 10)), T: t, Deliveries: deliveries}
	if iv := t.GetIntervention(); iv != nil {
		v.Fields, v.Others = formFields(iv)
		v.CanSubmit = iv.GetStatus() == "open" && grpcapi.Authorize(p, submitDecision) == nil
		if d := iv.GetDelivery(); d != nil {
			switch d.GetState() {
			case "pending":
				v.Poll = "/tickets/" + strconv.FormatInt(number, 10) + "/live"
				v.PollMS = c.opts.PollInterval.Milliseconds()
			case "failed", "refused":
				v.CanRedeliver = grpcapi.Authorize(p, redeliver) == nil
			}
		}
	}
	return v, nil
}

// submit turns the form into a SubmitIntervention call. On success the
// browser is sent back to the ticket (so a reload does not submit again);
// on a problem the form comes back with what the user typed and the
// messages beside the fields.
func (c *Console) submit(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v, err := c.loadTicket(r, p)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, p, apierr.New(apierr.MalformedJSON, "The form could not be read."))
		return
	}
	iv := v.T.GetIntervention()
	if iv == nil {
		c.fail(w, r, p, apierr.New(apierr.Conflict, "Ticket %d has no intervention to submit.", v.T.GetNumber()))
		return
	}
	edits := readForm(v.Fields, r.PostForm)
	v.Content = r.PostFormValue("content")
	_, err = c.svc.SubmitIntervention(r.Context(), p, &v1.SubmitInterventionRequest{
		TicketNumber: v.T.GetNumber(), Data: edits, Content: v.Content,
	})
	if err == nil {
		http.Redirect(w, r, "/tickets/"+strconv.FormatInt(v.T.GetNumber(), 10)+"?done=submitted#decision", http.StatusSeeOther)
		return
	}
	var ae *apierr.Error
	if !errors.As(err, &ae) || (ae.Reason != apierr.ValidationFailed && ae.Reason != apierr.Conflict) {
		c.fail(w, r, p, err)
		return
	}
	v.Errors = attachErrors(v.Fields, ae)
	c.render(w, r, apierr.HTTPStatus(ae.Reason), "ticket", v)
}

func (c *Console) redeliver(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	number, err1 := strconv.ParseInt(r.PathValue("number"), 10, 64)
	id, err2 := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err1 != nil || err2 != nil {
		c.fail(w, r, p, apierr.New(apierr.NotFound, "There is no such delivery."))
		return
	}
	if _, err := c.svc.Redeliver(r.Context(), p, number, id); err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/tickets/"+strconv.FormatInt(number, 10)+"?done=redelivered#decision", http.StatusSeeOther)
}

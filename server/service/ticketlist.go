package service

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/contact"
	"github.com/tickiti/tickiti/ent/payload"
	"github.com/tickiti/tickiti/ent/predicate"
	"github.com/tickiti/tickiti/ent/queue"
	"github.com/tickiti/tickiti/ent/ticket"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
)

// maxQuery bounds a search text: a ticket number, a uid (at most 255
// characters) or an e-mail address.
const maxQuery = 255

// ListTickets lists tickets newest first, a page at a time, filtered by
// queue, intervention status and a search, and counts the tickets matching
// the status and search filters in every queue. The page and the counts
// are read from one snapshot, so they agree.
func (s *Service) ListTickets(ctx context.Context, req *v1.ListTicketsRequest) (*v1.ListTicketsResponse, error) {
	status := req.GetInterventionStatus()
	query := strings.TrimSpace(req.GetQuery())
	var v apierr.Validation
	if status != "" && payload.StatusValidator(payload.Status(status)) != nil {
		v.Add("intervention_status", "The intervention status must be open, submitted, delivered or completed.")
	}
	if utf8.RuneCountInString(query) > maxQuery {
		v.Add("query", "The query must not be greater than %d characters.", maxQuery)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, err := ParsePage(req.GetPageSize(), req.GetPageToken(),
		strconv.Quote(req.GetQueue())+strconv.Quote(status)+strconv.Quote(query))
	if err != nil {
		return nil, err
	}

	// The filters every count shares; the queue filter applies to the page.
	var common []predicate.Ticket
	if status != "" {
		common = append(common, ticket.HasPayloadWith(payload.StatusEQ(payload.Status(status))))
	}
	if query != "" {
		common = append(common, searchTickets(query))
	}

	out := &v1.ListTicketsResponse{}
	err = s.db.Read(ctx, func(c *ent.Client) error {
		q := c.Ticket.Query().Where(common...)
		if name := req.GetQueue(); name != "" {
			q.Where(ticket.HasQueueWith(queue.Name(name)))
		}
		if page.After > 0 {
			q.Where(ticket.IDLT(page.After))
		}
		ts, err := q.Order(ent.Desc(ticket.FieldID)).Limit(page.Size + 1).
			WithQueue().WithContact().WithPayload(func(q *ent.PayloadQuery) { q.WithIntervention() }).
			All(ctx)
		if err != nil {
			return err
		}
		ts, out.NextPageToken = pageOf(page, ts, func(t *ent.Ticket) int { return t.ID })
		for _, t := range ts {
			out.Tickets = append(out.Tickets, ticketSummary(t))
		}
		out.QueueCounts, err = queueCounts(ctx, c, common)
		return err
	})
	if err != nil {
		return nil, s.internal("list tickets", err)
	}
	return out, nil
}

// searchTickets matches a ticket number exactly, and the uid or the
// customer's address by substring (case-insensitive for the address, which
// is stored lowercased anyway).
func searchTickets(query string) predicate.Ticket {
	or := []predicate.Ticket{
		ticket.HasPayloadWith(payload.UIDContains(query)),
		ticket.HasContactWith(contact.EmailContainsFold(query)),
	}
	if n, err := strconv.ParseInt(strings.TrimPrefix(query, "#"), 10, 64); err == nil {
		if id, err := ticketID(n); err == nil {
			or = append(or, ticket.ID(id))
		}
	}
	return ticket.Or(or...)
}

// queueCounts counts the tickets matching preds in every queue, queues
// without any included, by name.
func queueCounts(ctx context.Context, c *ent.Client, preds []predicate.Ticket) ([]*v1.QueueCount, error) {
	var rows []struct {
		QueueID int `json:"queue_id"`
		Count   int `json:"count"`
	}
	if err := c.Ticket.Query().Where(preds...).GroupBy(ticket.FieldQueueID).Aggregate(ent.Count()).Scan(ctx, &rows); err != nil {
		return nil, err
	}
	counts := make(map[int]int, len(rows))
	for _, r := range rows {
		counts[r.QueueID] = r.Count
	}
	qs, err := c.Queue.Query().All(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(qs, func(i, j int) bool { return qs[i].Name < qs[j].Name })
	out := make([]*v1.QueueCount, 0, len(qs))
	for _, q := range qs {
		out = append(out, &v1.QueueCount{Queue: q.Name, Count: int64(counts[q.ID])})
	}
	return out, nil
}

func ticketSummary(t *ent.Ticket) *v1.TicketSummary {
	out := &v1.TicketSummary{
		Id: int64(t.ID), Number: TicketNumber(t.ID), Status: string(t.Status),
		Queue:      t.Edges.Queue.Name,
		Originator: &v1.Contact{EmailAddress: t.Edges.Contact.Email},
		CreateTime: timestamppb.New(t.CreatedAt), UpdateTime: timestamppb.New(t.UpdatedAt),
	}
	if p := t.Edges.Payload; p != nil {
		out.Uid, out.InterventionStatus = p.UID, string(p.Status)
		if iv := p.Edges.Intervention; iv != nil {
			out.Intervention, out.InterventionTitle = iv.Name, iv.Title
		}
	}
	return out
}

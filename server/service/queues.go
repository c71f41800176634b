package service

import (
	"context"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/intervention"
	"github.com/tickiti/tickiti/ent/queue"
	"github.com/tickiti/tickiti/ent/schema"
	"github.com/tickiti/tickiti/ent/ticket"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/settings"
)

func queueNotFound(name string) error {
	return apierr.New(apierr.NotFound, "Queue %q not found.", name)
}

// checkQueueName applies settings.CheckQueueName, the settings file's rule.
func checkQueueName(name string) error {
	if msg := settings.CheckQueueName(name); msg != "" {
		return apierr.Invalid("name", "%s", msg)
	}
	return nil
}

// GetQueue returns a queue with its count of open tickets.
func (s *Service) GetQueue(ctx context.Context, name string) (*v1.Queue, error) {
	var out *v1.Queue
	err := s.db.Read(ctx, func(c *ent.Client) error {
		q, err := c.Queue.Query().Where(queue.Name(name)).Only(ctx)
		if ent.IsNotFound(err) {
			return queueNotFound(name)
		}
		if err != nil {
			return err
		}
		qs, err := withOpenCounts(ctx, c, []*ent.Queue{q})
		out = qs[0]
		return err
	})
	if err != nil {
		return nil, s.internal("load queue", err)
	}
	return out, nil
}

// ListQueues lists queues in creation order, with their open-ticket counts
// (AIP-158): two queries a page, whatever its size.
func (s *Service) ListQueues(ctx context.Context, req *v1.ListQueuesRequest) (*v1.ListQueuesResponse, error) {
	page, err := ParsePage(req.GetPageSize(), req.GetPageToken(), "queues")
	if err != nil {
		return nil, err
	}
	out := &v1.ListQueuesResponse{}
	err = s.db.Read(ctx, func(c *ent.Client) error {
		qs, err := c.Queue.Query().Where(queue.IDGT(page.After)).Order(ent.Asc(queue.FieldID)).Limit(page.Size + 1).All(ctx)
		if err != nil {
			return err
		}
		qs, out.NextPageToken = pageOf(page, qs, func(q *ent.Queue) int { return q.ID })
		out.Queues, err = withOpenCounts(ctx, c, qs)
		return err
	})
	if err != nil {
		return nil, s.internal("list queues", err)
	}
	return out, nil
}

// withOpenCounts returns the queues with their open-ticket counts, counted
// in one grouped query.
func withOpenCounts(ctx context.Context, c *ent.Client, qs []*ent.Queue) ([]*v1.Queue, error) {
	ids := make([]int, len(qs))
	for i, q := range qs {
		ids[i] = q.ID
	}
	var rows []struct {
		QueueID int `json:"queue_id"`
		Count   int `json:"count"`
	}
	err := c.Ticket.Query().Where(ticket.StatusEQ(ticket.StatusOpen), ticket.QueueIDIn(ids...)).
		GroupBy(ticket.FieldQueueID).Aggregate(ent.Count()).Scan(ctx, &rows)
	if err != nil {
		return nil, err
	}
	counts := make(map[int]int, len(rows))
	for _, r := range rows {
		counts[r.QueueID] = r.Count
	}
	out := make([]*v1.Queue, len(qs))
	for i, q := range qs {
		out[i] = &v1.Queue{
			Name: q.Name, OpenTicketCount: int64(counts[q.ID]),
			CreateTime: timestamppb.New(q.CreatedAt), UpdateTime: timestamppb.New(q.UpdatedAt),
		}
	}
	return out, nil
}

// CreateQueue creates a queue whose name is new.
func (s *Service) CreateQueue(ctx context.Context, p *auth.Principal, req *v1.CreateQueueRequest) (*v1.Queue, error) {
	name := req.GetQueue().GetName()
	if err := checkQueueName(name); err != nil {
		return nil, err
	}
	conflict := apierr.New(apierr.Conflict, "A queue named %q already exists.", name)
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		exists, err := tx.Queue.Query().Where(queue.Name(name)).Exist(ctx)
		if err != nil {
			return err
		}
		if exists {
			return conflict
		}
		if err := tx.Queue.Create().SetName(name).Exec(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, p, resQueue, name, "create", schema.AuditChange{Field: "name", New: name})
	})
	if ent.IsConstraintError(err) {
		return nil, conflict
	}
	if err != nil {
		return nil, s.internal("create queue", err)
	}
	return s.GetQueue(ctx, name)
}

// UpdateQueue renames a queue; its tickets and interventions refer to it by
// id and follow.
func (s *Service) UpdateQueue(ctx context.Context, p *auth.Principal, req *v1.UpdateQueueRequest) (*v1.Queue, error) {
	name, in := req.GetName(), req.GetQueue()
	paths, err := maskPaths(req.GetUpdateMask(), in, map[string]bool{"name": true},
		map[string]bool{"open_ticket_count": true, "create_time": true, "update_time": true})
	if err != nil {
		return nil, err
	}
	newName := name
	if paths["name"] {
		newName = in.GetName()
		if err := checkQueueName(newName); err != nil {
			return nil, err
		}
	}
	conflict := apierr.New(apierr.Conflict, "A queue named %q already exists.", newName)
	err = s.db.Tx(ctx, func(tx *ent.Tx) error {
		q, err := tx.Queue.Query().Where(queue.Name(name)).Only(ctx)
		if ent.IsNotFound(err) {
			return queueNotFound(name)
		}
		if err != nil || newName == name {
			return err
		}
		taken, err := tx.Queue.Query().Where(queue.Name(newName)).Exist(ctx)
		if err != nil {
			return err
		}
		if taken {
			return conflict
		}
		if err := tx.Queue.UpdateOneID(q.ID).SetName(newName).Exec(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, p, resQueue, name, "update", schema.AuditChange{Field: "name", Old: name, New: newName})
	})
	if ent.IsConstraintError(err) {
		return nil, conflict
	}
	if err != nil {
		return nil, s.internal("update queue", err)
	}
	return s.GetQueue(ctx, newName)
}

// DeleteQueue deletes a queue no ticket and no intervention uses.
func (s *Service) DeleteQueue(ctx context.Context, p *auth.Principal, name string) (*emptypb.Empty, error) {
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		q, err := tx.Queue.Query().Where(queue.Name(name)).Only(ctx)
		if ent.IsNotFound(err) {
			return queueNotFound(name)
		}
		if err != nil {
			return err
		}
		tickets, err := tx.Ticket.Query().Where(ticket.QueueID(q.ID)).Count(ctx)
		if err != nil {
			return err
		}
		ivs, err := tx.Intervention.Query().Where(intervention.QueueID(q.ID)).Count(ctx)
		if err != nil {
			return err
		}
		if tickets > 0 || ivs > 0 {
			return apierr.New(apierr.Conflict,
				"The queue %q is in use: %d ticket(s) are in it and %d intervention(s) file their tickets in it. A queue that holds tickets stays (rename it instead); point the interventions at another queue first.",
				name, tickets, ivs)
		}
		if err := tx.Queue.DeleteOneID(q.ID).Exec(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, p, resQueue, name, "delete", schema.AuditChange{Field: "name", Old: name})
	})
	if ent.IsConstraintError(err) {
		return nil, apierr.New(apierr.Conflict, "The queue %q got a ticket or an intervention meanwhile.", name)
	}
	if err != nil {
		return nil, s.internal("delete queue", err)
	}
	return &emptypb.Empty{}, nil
}

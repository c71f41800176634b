package service

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/auditevent"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
)

// ListAuditEvents lists the audit log, newest first, optionally about one
// kind of resource (and one resource) and within [start_time, end_time), a
// page at a time (AIP-158).
func (s *Service) ListAuditEvents(ctx context.Context, req *v1.ListAuditEventsRequest) (*v1.ListAuditEventsResponse, error) {
	var v apierr.Validation
	var start, end time.Time
	if ts := req.GetStartTime(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			v.Add("start_time", "The start time is not a valid time.")
		}
		start = ts.AsTime()
	}
	if ts := req.GetEndTime(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			v.Add("end_time", "The end time is not a valid time.")
		}
		end = ts.AsTime()
	}
	if !start.IsZero() && !end.IsZero() && !end.After(start) && !v.Has("start_time") && !v.Has("end_time") {
		v.Add("end_time", "The end time must be after the start time.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	// The page token is bound to the filters, so it cannot continue another
	// listing.
	filter := fmt.Sprintf("audit %q %q %s %s", req.GetResource(), req.GetResourceName(),
		start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
	page, err := ParsePage(req.GetPageSize(), req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}

	q := s.db.AuditEvent.Query()
	if r := req.GetResource(); r != "" {
		q.Where(auditevent.Resource(r))
	}
	if n := req.GetResourceName(); n != "" {
		q.Where(auditevent.ResourceName(n))
	}
	if !start.IsZero() {
		q.Where(auditevent.CreatedAtGTE(start))
	}
	if !end.IsZero() {
		q.Where(auditevent.CreatedAtLT(end))
	}
	if page.After > 0 {
		q.Where(auditevent.IDLT(page.After))
	}
	evs, err := q.Order(ent.Desc(auditevent.FieldID)).Limit(page.Size + 1).All(ctx)
	if err != nil {
		return nil, s.internal("list audit events", err)
	}
	out := &v1.ListAuditEventsResponse{}
	evs, out.NextPageToken = pageOf(page, evs, func(ev *ent.AuditEvent) int { return ev.ID })
	for _, ev := range evs {
		m := &v1.AuditEvent{
			Id: int64(ev.ID), CreateTime: timestamppb.New(ev.CreatedAt), Actor: ev.Actor,
			Resource: ev.Resource, ResourceName: ev.ResourceName, Action: ev.Action,
		}
		if ev.ActorUserID != nil {
			m.ActorUserId = int64(*ev.ActorUserID)
		}
		if ev.ActorTokenID != nil {
			m.ActorTokenId = int64(*ev.ActorTokenID)
		}
		for _, c := range ev.Changes {
			m.Changes = append(m.Changes, &v1.AuditChange{Field: c.Field, OldValue: auditValue(c.Old), NewValue: auditValue(c.New)})
		}
		out.AuditEvents = append(out.AuditEvents, m)
	}
	return out, nil
}

// auditValue turns a recorded value (decoded JSON) into a protobuf Value;
// nil (no value) stays unset. Going through JSON accepts whatever a
// recorder wrote.
func auditValue(x any) *structpb.Value {
	if x == nil {
		return nil
	}
	b, err := json.Marshal(x)
	if err != nil {
		return nil
	}
	val := &structpb.Value{}
	if protojson.Unmarshal(b, val) != nil {
		return nil
	}
	return val
}

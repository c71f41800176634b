package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/auditevent"
	"github.com/tickiti/tickiti/ent/schema"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/service"
	"github.com/tickiti/tickiti/server/store"
)

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Reason != reason {
		t.Fatalf("err = %v, want %s", err, reason)
	}
}

// events returns the audit log, oldest first.
func events(t *testing.T, db *store.DB) []*ent.AuditEvent {
	t.Helper()
	return db.AuditEvent.Query().Order(ent.Asc(auditevent.FieldID)).AllX(context.Background())
}

// adminPrincipal creates an admin user with a token and authenticates it.
func adminPrincipal(t *testing.T, svc *service.Service) *auth.Principal {
	t.Helper()
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, nil, "root@example.com", "Root Admin", "admin"); err != nil {
		t.Fatal(err)
	}
	tok, err := svc.CreateToken(ctx, nil, []string{auth.TokensManage}, "admin console", "root@example.com")
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, "Bearer "+tok.PlainTextToken)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTokenLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		svc := service.New(db, service.Options{Now: func() time.Time { return now }})
		p := adminPrincipal(t, svc)
		if _, err := svc.CreateUser(ctx, nil, "sam@example.com", "Sam", "staff"); err != nil {
			t.Fatal(err)
		}
		before := len(events(t, db))

		created, err := svc.CreateToken(ctx, p, []string{"tickets:write"}, "sam's tool", "SAM@example.com")
		if err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		_, secret, _ := auth.Parse(created.PlainTextToken)
		if created.UserEmail != "sam@example.com" || created.Revoked || created.RevokeTime != nil ||
			!created.CreateTime.AsTime().Equal(now) || !strings.HasPrefix(created.PlainTextToken, strconv.FormatInt(created.Id, 10)+"|") {
			t.Errorf("created = %v", created)
		}

		// The creation is recorded with its actor, and without the secret.
		evs := events(t, db)
		if len(evs) != before+1 {
			t.Fatalf("%d new audit events, want 1", len(evs)-before)
		}
		ev := evs[len(evs)-1]
		if ev.Resource != "token" || ev.ResourceName != strconv.FormatInt(created.Id, 10) || ev.Action != "create" ||
			ev.Actor != "Root Admin" || *ev.ActorTokenID != p.TokenID || *ev.ActorUserID != *p.UserID {
			t.Errorf("event = %+v", ev)
		}
		changes, _ := json.Marshal(ev.Changes)
		if string(changes) != `[{"field":"abilities","new":["tickets:write"]},{"field":"description","new":"sam's tool"},{"field":"user","new":"sam@example.com"}]` {
			t.Errorf("changes = %s", changes)
		}
		for _, ev := range evs {
			if b, _ := json.Marshal(ev); strings.Contains(string(b), secret) {
				t.Errorf("the secret is in the audit log: %s", b)
			}
		}

		// Listing and getting never show the secret.
		list, err := svc.ListTokens(ctx, &v1.ListTokensRequest{})
		if err != nil || len(list.Tokens) != 2 || list.NextPageToken != "" {
			t.Fatalf("ListTokens = %v, %v", list, err)
		}
		got, err := svc.GetToken(ctx, created.Id)
		if err != nil || got.PlainTextToken != "" || list.Tokens[1].PlainTextToken != "" || got.Description != "sam's tool" {
			t.Errorf("GetToken = %v, %v", got, err)
		}
		if _, err := svc.Authenticate(ctx, "Bearer "+created.PlainTextToken); err != nil {
			t.Fatalf("Authenticate before revoking: %v", err)
		}

		revoked, err := svc.RevokeToken(ctx, p, created.Id)
		if err != nil || !revoked.Revoked || !revoked.RevokeTime.AsTime().Equal(now) {
			t.Fatalf("RevokeToken = %v, %v", revoked, err)
		}
		_, err = svc.Authenticate(ctx, "Bearer "+created.PlainTextToken)
		wantReason(t, err, apierr.Unauthenticated)
		ev = events(t, db)[before+1]
		if ev.Action != "revoke" || ev.ResourceName != strconv.FormatInt(created.Id, 10) ||
			!reflect.DeepEqual(ev.Changes, []schema.AuditChange{{Field: "revoked", Old: false, New: true}}) {
			t.Errorf("revoke event = %+v", ev)
		}

		// Revoking again changes nothing and records nothing.
		now = now.Add(time.Hour)
		again, err := svc.RevokeToken(ctx, p, created.Id)
		if err != nil || !again.RevokeTime.AsTime().Equal(now.Add(-time.Hour)) {
			t.Errorf("revoke again = %v, %v", again, err)
		}
		if n := len(events(t, db)); n != before+2 {
			t.Errorf("%d audit events after revoking twice, want %d", n, before+2)
		}

		_, err = svc.RevokeToken(ctx, p, 9999)
		wantReason(t, err, apierr.NotFound)
		_, err = svc.GetToken(ctx, 0)
		wantReason(t, err, apierr.NotFound)
	})
}

func TestUserUpdateAndDeactivate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})
		p := adminPrincipal(t, svc)

		u, err := svc.CreateUser(ctx, nil, "Jane@Example.com", "Jane", "")
		if err != nil {
			t.Fatal(err)
		}
		ev := events(t, db)[len(events(t, db))-1]
		if ev.Actor != "cli" || ev.ActorTokenID != nil || ev.Resource != "user" || ev.ResourceName != "jane@example.com" || ev.Action != "create" {
			t.Errorf("create event = %+v", ev)
		}
		id := int64(u.ID)
		tok, err := svc.CreateToken(ctx, nil, []string{"tickets:read"}, "", "jane@example.com")
		if err != nil {
			t.Fatal(err)
		}
		before := len(events(t, db))

		// Only the masked field changes, whatever else the message holds.
		got, err := svc.UpdateUser(ctx, p, &v1.User{Id: id, Role: "admin", Name: ""}, &fieldmaskpb.FieldMask{Paths: []string{"role"}})
		if err != nil || got.Role != "admin" || got.Name != "Jane" || !got.Active {
			t.Fatalf("UpdateUser role = %v, %v", got, err)
		}
		// Without a mask, the fields set.
		got, err = svc.UpdateUser(ctx, p, &v1.User{Id: id, Name: " Jane Doe "}, nil)
		if err != nil || got.Role != "admin" || got.Name != "Jane Doe" {
			t.Fatalf("UpdateUser name = %v, %v", got, err)
		}
		// The unchanged email and output-only fields may be in the mask.
		got, err = svc.UpdateUser(ctx, p, &v1.User{Id: id, Email: "JANE@example.com", Name: "Jane Doe", Role: "staff", Active: true},
			&fieldmaskpb.FieldMask{Paths: []string{"email", "id", "create_time", "*"}})
		if err != nil || got.Role != "staff" {
			t.Fatalf("UpdateUser * = %v, %v", got, err)
		}
		// A change to nothing is not recorded.
		if _, err := svc.UpdateUser(ctx, p, &v1.User{Id: id, Role: "staff"}, nil); err != nil {
			t.Fatal(err)
		}
		evs := events(t, db)[before:]
		var got3 []string
		for _, ev := range evs {
			b, _ := json.Marshal(ev.Changes)
			got3 = append(got3, ev.Action+" "+ev.ResourceName+" by "+ev.Actor+": "+string(b))
		}
		want := []string{
			`update jane@example.com by Root Admin: [{"field":"role","old":"staff","new":"admin"}]`,
			`update jane@example.com by Root Admin: [{"field":"name","old":"Jane","new":"Jane Doe"}]`,
			`update jane@example.com by Root Admin: [{"field":"role","old":"admin","new":"staff"}]`,
		}
		if !reflect.DeepEqual(got3, want) {
			t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got3, "\n"), strings.Join(want, "\n"))
		}

		// Refused updates.
		for _, tc := range []struct {
			u     *v1.User
			paths []string
			field string
		}{
			{&v1.User{Id: id, Email: "other@example.com"}, []string{"email"}, "email"},
			{&v1.User{Id: id}, []string{"password"}, "update_mask"},
			{&v1.User{Id: id, Role: "staff"}, []string{"*"}, "name"},
			{&v1.User{Id: id, Role: "boss"}, nil, "role"},
		} {
			_, err := svc.UpdateUser(ctx, p, tc.u, &fieldmaskpb.FieldMask{Paths: tc.paths})
			if fields := fieldErrors(t, err); len(fields[tc.field]) != 1 || len(fields) != 1 {
				t.Errorf("UpdateUser(%v, %v): %v, want one error on %s", tc.u, tc.paths, fields, tc.field)
			}
		}
		_, err = svc.UpdateUser(ctx, p, &v1.User{Id: 9999, Name: "X"}, nil)
		wantReason(t, err, apierr.NotFound)

		// Deactivation stops the user's tokens on the next request;
		// reactivation lets them work again.
		got, err = svc.DeactivateUser(ctx, p, id)
		if err != nil || got.Active {
			t.Fatalf("DeactivateUser = %v, %v", got, err)
		}
		_, err = svc.Authenticate(ctx, "Bearer "+tok.PlainTextToken)
		wantReason(t, err, apierr.Unauthenticated)
		if _, err := svc.DeactivateUser(ctx, p, id); err != nil {
			t.Fatal(err)
		}
		evs = events(t, db)
		if ev := evs[len(evs)-1]; ev.Action != "deactivate" || len(evs) != before+4 ||
			!reflect.DeepEqual(ev.Changes, []schema.AuditChange{{Field: "active", Old: true, New: false}}) {
			t.Errorf("deactivate event = %+v (%d events)", ev, len(evs)-before)
		}
		if _, err := svc.UpdateUser(ctx, p, &v1.User{Id: id, Active: true}, &fieldmaskpb.FieldMask{Paths: []string{"active"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, "Bearer "+tok.PlainTextToken); err != nil {
			t.Errorf("Authenticate after reactivation: %v", err)
		}
	})
}

func TestListAuditEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})
		t0 := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
		// Six events an hour apart: user a, token 1, user b, intervention x, ...
		for i, r := range []string{"user a", "token 1", "user b", "intervention x", "user a", "token 1"} {
			resource, name, _ := strings.Cut(r, " ")
			db.AuditEvent.Create().SetCreatedAt(t0.Add(time.Duration(i) * time.Hour)).SetActor("cli").
				SetResource(resource).SetResourceName(name).SetAction("update").SetChanges([]schema.AuditChange{}).ExecX(ctx)
		}
		list := func(req *v1.ListAuditEventsRequest) []string {
			t.Helper()
			resp, err := svc.ListAuditEvents(ctx, req)
			if err != nil {
				t.Fatalf("ListAuditEvents(%v): %v", req, err)
			}
			var out []string
			for _, ev := range resp.AuditEvents {
				out = append(out, ev.Resource+" "+ev.ResourceName+" "+ev.CreateTime.AsTime().Format("15h"))
			}
			return out
		}
		at := func(h int) *timestamppb.Timestamp { return timestamppb.New(t0.Add(time.Duration(h) * time.Hour)) }
		for _, tc := range []struct {
			req  *v1.ListAuditEventsRequest
			want []string
		}{
			{&v1.ListAuditEventsRequest{}, []string{"token 1 17h", "user a 16h", "intervention x 15h", "user b 14h", "token 1 13h", "user a 12h"}},
			{&v1.ListAuditEventsRequest{Resource: "user"}, []string{"user a 16h", "user b 14h", "user a 12h"}},
			{&v1.ListAuditEventsRequest{Resource: "user", ResourceName: "a"}, []string{"user a 16h", "user a 12h"}},
			// start_time is inclusive, end_time exclusive.
			{&v1.ListAuditEventsRequest{StartTime: at(1), EndTime: at(4)}, []string{"intervention x 15h", "user b 14h", "token 1 13h"}},
			{&v1.ListAuditEventsRequest{Resource: "token", StartTime: at(2)}, []string{"token 1 17h"}},
			{&v1.ListAuditEventsRequest{EndTime: at(1)}, []string{"user a 12h"}},
			{&v1.ListAuditEventsRequest{Resource: "queue"}, nil},
		} {
			if got := list(tc.req); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ListAuditEvents(%v) = %v, want %v", tc.req, got, tc.want)
			}
		}

		_, err := svc.ListAuditEvents(ctx, &v1.ListAuditEventsRequest{StartTime: at(2), EndTime: at(2)})
		if fields := fieldErrors(t, err); len(fields["end_time"]) != 1 {
			t.Errorf("empty range: %v", fields)
		}
		// A page token continues only the listing it came from.
		first, err := svc.ListAuditEvents(ctx, &v1.ListAuditEventsRequest{Resource: "user", PageSize: 1})
		if err != nil || first.NextPageToken == "" {
			t.Fatalf("first page: %v, %v", first, err)
		}
		_, err = svc.ListAuditEvents(ctx, &v1.ListAuditEventsRequest{Resource: "token", PageSize: 1, PageToken: first.NextPageToken})
		if fields := fieldErrors(t, err); len(fields["page_token"]) != 1 {
			t.Errorf("page token of another filter: %v", fields)
		}
		_, err = svc.ListAuditEvents(ctx, &v1.ListAuditEventsRequest{PageToken: "garbage"})
		if fields := fieldErrors(t, err); len(fields["page_token"]) != 1 {
			t.Errorf("garbage page token: %v", fields)
		}
	})
}

// TestIdentityPagination pages through users, tokens and audit events while
// rows are added between pages: every row that existed before the listing
// began comes exactly once, in order.
func TestIdentityPagination(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})
		added := 0
		addUser := func() int64 {
			added++
			u, err := svc.CreateUser(ctx, nil, "user"+strconv.Itoa(added)+"@example.com", "User", "staff")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.CreateToken(ctx, nil, []string{"tickets:read"}, "", u.Email); err != nil {
				t.Fatal(err)
			}
			return int64(u.ID)
		}
		for range 7 {
			addUser()
		}

		type page struct {
			ids  []int64
			next string
		}
		check := func(what string, list func(size int32, token string) page, ascending bool, existing int) {
			t.Helper()
			var seen []int64
			token := ""
			for pages := 0; ; pages++ {
				p := list(3, token)
				if len(p.ids) > 3 {
					t.Fatalf("%s: page of %d, want at most 3", what, len(p.ids))
				}
				seen = append(seen, p.ids...)
				if token = p.next; token == "" {
					break
				}
				addUser() // rows arrive while the client pages
				if pages > 50 {
					t.Fatalf("%s: the listing does not end", what)
				}
			}
			for i := 1; i < len(seen); i++ {
				if (ascending && seen[i] <= seen[i-1]) || (!ascending && seen[i] >= seen[i-1]) {
					t.Fatalf("%s: ids out of order or repeated: %v", what, seen)
				}
			}
			if ascending {
				// Rows added meanwhile come after: nothing up to the last
				// id seen is missing.
				if len(seen) < existing || seen[len(seen)-1]-seen[0]+1 != int64(len(seen)) {
					t.Errorf("%s: gaps: %v", what, seen)
				}
			} else if len(seen) != existing || seen[0]-seen[len(seen)-1]+1 != int64(existing) {
				// Newest first: rows added meanwhile are newer than the
				// first page, and every older row comes.
				t.Errorf("%s: saw %v, want the %d existing rows", what, seen, existing)
			}
		}

		check("users", func(size int32, token string) page {
			resp, err := svc.ListUsers(ctx, &v1.ListUsersRequest{PageSize: size, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			var p page
			for _, u := range resp.Users {
				p.ids = append(p.ids, u.Id)
			}
			p.next = resp.NextPageToken
			return p
		}, true, 7)
		check("tokens", func(size int32, token string) page {
			resp, err := svc.ListTokens(ctx, &v1.ListTokensRequest{PageSize: size, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			var p page
			for _, tok := range resp.Tokens {
				p.ids = append(p.ids, tok.Id)
			}
			p.next = resp.NextPageToken
			return p
		}, true, db.APIToken.Query().CountX(ctx))
		existingEvents := db.AuditEvent.Query().CountX(ctx)
		check("audit events", func(size int32, token string) page {
			resp, err := svc.ListAuditEvents(ctx, &v1.ListAuditEventsRequest{PageSize: size, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			var p page
			for _, ev := range resp.AuditEvents {
				p.ids = append(p.ids, ev.Id)
			}
			p.next = resp.NextPageToken
			return p
		}, false, existingEvents)

		// A page token is opaque and checked.
		_, err := svc.ListUsers(ctx, &v1.ListUsersRequest{PageToken: "not-a-token"})
		wantReason(t, err, apierr.ValidationFailed)
		_, err = svc.ListTokens(ctx, &v1.ListTokensRequest{PageSize: -1})
		wantReason(t, err, apierr.ValidationFailed)
	})
}

package service_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/tickiti/tickiti/ent/session"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/service"
)

func TestConsoleSessionLifetime(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		var mu sync.Mutex
		now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		svc := service.New(db, service.Options{Now: clock})

		if ok, _ := svc.HasConsoleUser(ctx); ok {
			t.Fatal("HasConsoleUser on an empty database")
		}
		if _, err := svc.CreateUser(ctx, nil, "Jane@Example.com", "Jane", "admin"); err != nil {
			t.Fatal(err)
		}
		if err := svc.SetPassword(ctx, "jane@example.com", "short"); !strings.Contains(errText(err), "at least 8") {
			t.Errorf("short password: %v", err)
		}
		if err := svc.SetPassword(ctx, "nobody@example.com", "long enough"); err == nil {
			t.Error("password for an unknown user")
		}
		if err := svc.SetPassword(ctx, "JANE@example.com", "long enough"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := svc.HasConsoleUser(ctx); !ok {
			t.Error("HasConsoleUser after a password was set")
		}
		u := db.User.Query().OnlyX(ctx)
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$") || strings.Contains(u.PasswordHash, "long enough") {
			t.Errorf("stored hash = %q", u.PasswordHash)
		}

		if _, _, err := svc.SignIn(ctx, "jane@example.com", "wrong"); err == nil {
			t.Fatal("signed in with a wrong password")
		}
		token, p, err := svc.SignIn(ctx, " Jane@example.com ", "long enough")
		if err != nil {
			t.Fatal(err)
		}
		if p.UserID == nil || p.Role != "admin" || !slices.Equal(p.Abilities, auth.Known) || !p.MayAdminister() {
			t.Errorf("principal = %+v", p)
		}
		// Only a hash of the token is stored.
		if n := db.Session.Query().Where(session.TokenHash([]byte(token))).CountX(ctx); n != 0 {
			t.Error("the session token is stored in clear")
		}

		// Activity keeps the session alive past the idle timeout...
		for range 3 {
			advance(service.SessionIdle - time.Hour)
			if _, err := svc.Session(ctx, token); err != nil {
				t.Fatalf("active session ended: %v", err)
			}
		}
		// ...idleness ends it.
		advance(service.SessionIdle)
		if _, err := svc.Session(ctx, token); err == nil {
			t.Error("idle session still works")
		}
		// And no activity stretches it past SessionMax.
		token, _, _ = svc.SignIn(ctx, "jane@example.com", "long enough")
		for elapsed := time.Duration(0); elapsed < service.SessionMax-service.SessionIdle; elapsed += 6 * time.Hour {
			advance(6 * time.Hour)
			if _, err := svc.Session(ctx, token); err != nil {
				t.Fatalf("session ended after %s: %v", elapsed, err)
			}
		}
		advance(service.SessionIdle)
		if _, err := svc.Session(ctx, token); err == nil {
			t.Error("session outlived SessionMax")
		}
		if n, err := svc.PurgeExpiredSessions(ctx); err != nil || n != 2 {
			t.Errorf("purged %d, %v", n, err)
		}

		// A staff user gets the staff abilities.
		if _, err := svc.CreateUser(ctx, nil, "sam@example.com", "Sam", "staff"); err != nil {
			t.Fatal(err)
		}
		_ = svc.SetPassword(ctx, "sam@example.com", "sam's password")
		_, p, err = svc.SignIn(ctx, "sam@example.com", "sam's password")
		if err != nil || p.MayAdminister() || !p.Can(auth.TicketsWrite) || p.Can(auth.TokensManage) {
			t.Errorf("staff principal = %+v, %v", p, err)
		}
		token, _, _ = svc.SignIn(ctx, "sam@example.com", "sam's password")
		if err := svc.SignOut(ctx, token); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Session(ctx, token); err == nil {
			t.Error("a signed-out session works")
		}
	})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestPasswordHash(t *testing.T) {
	h := auth.HashPassword("pässword")
	if !auth.CheckPassword("pässword", h) || auth.CheckPassword("password", h) {
		t.Error("CheckPassword")
	}
	if h == auth.HashPassword("pässword") {
		t.Error("no salt")
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=999999999,t=1,p=1$AAAA$AAAA", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"} {
		if auth.CheckPassword("x", bad) {
			t.Errorf("%q matched", bad)
		}
	}
}

// TestDeactivationEndsSessions: deactivating a user ends their console
// sessions at once; reactivating does not bring them back.
func TestDeactivationEndsSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		svc := service.New(dbtest.Open(t, url), service.Options{})
		u, err := svc.CreateUser(ctx, nil, "sam@example.com", "Sam", "staff")
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.SetPassword(ctx, "sam@example.com", "long enough"); err != nil {
			t.Fatal(err)
		}
		viaDeactivate, _, err := svc.SignIn(ctx, "sam@example.com", "long enough")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.DeactivateUser(ctx, nil, int64(u.ID)); err != nil {
			t.Fatal(err)
		}
		reactivate := &v1.User{Id: int64(u.ID), Active: true}
		if _, err := svc.UpdateUser(ctx, nil, reactivate, &fieldmaskpb.FieldMask{Paths: []string{"active"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Session(ctx, viaDeactivate); err == nil {
			t.Error("a session from before the deactivation works after reactivation")
		}
		viaUpdate, _, err := svc.SignIn(ctx, "sam@example.com", "long enough")
		if err != nil {
			t.Fatal(err)
		}
		off := &v1.User{Id: int64(u.ID), Active: false}
		if _, err := svc.UpdateUser(ctx, nil, off, &fieldmaskpb.FieldMask{Paths: []string{"active"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.UpdateUser(ctx, nil, reactivate, &fieldmaskpb.FieldMask{Paths: []string{"active"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Session(ctx, viaUpdate); err == nil {
			t.Error("a session from before active=false works after reactivation")
		}
	})
}

// TestSetPasswordAudited: setting a password is recorded, by who did it,
// without the password or its hash.
func TestSetPasswordAudited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		svc := service.New(dbtest.Open(t, url), service.Options{})
		admin, err := svc.CreateUser(ctx, nil, "ada@example.com", "Ada", "admin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateUser(ctx, nil, "sam@example.com", "Sam", ""); err != nil {
			t.Fatal(err)
		}
		if err := svc.SetPassword(ctx, "sam@example.com", "first password"); err != nil {
			t.Fatal(err)
		}
		id := admin.ID
		console := auth.With(ctx, &auth.Principal{UserID: &id, UserName: "Ada", Role: auth.RoleAdmin})
		if err := svc.SetPassword(console, "sam@example.com", "second password"); err != nil {
			t.Fatal(err)
		}
		evs, err := svc.ListAuditEvents(ctx, &v1.ListAuditEventsRequest{Resource: "user", ResourceName: "sam@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range evs.GetAuditEvents() {
			if ev.GetAction() != "set_password" {
				continue
			}
			c := ev.GetChanges()[0]
			got = append(got, fmt.Sprintf("%s %d %s %v→%v", ev.GetActor(), ev.GetActorUserId(), c.GetField(),
				c.GetOldValue().AsInterface(), c.GetNewValue().AsInterface()))
		}
		want := []string{
			fmt.Sprintf("Ada %d password [redacted]→[redacted]", id), // newest first
			"cli 0 password <nil>→[redacted]",
		}
		if !slices.Equal(got, want) {
			t.Errorf("set_password events = %q, want %q", got, want)
		}
	})
}

package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/auditevent"
	"github.com/tickiti/tickiti/ent/user"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/service"
)

func TestTokenListAndRevoke(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})
		if _, err := run(t, url, "user", "create", "--email", "jane@example.com", "--name", "Jane"); err != nil {
			t.Fatal(err)
		}
		shop, err := run(t, url, "token", "create", "--ability", "create-ticket", "--description", "shop backend")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := run(t, url, "token", "create", "--ability", "tickets:write,workflow:read", "--user", "jane@example.com"); err != nil {
			t.Fatal(err)
		}
		id, secret, _ := strings.Cut(strings.TrimSpace(shop), "|")

		out, err := run(t, url, "token", "list")
		if err != nil {
			t.Fatalf("token list: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		date := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`
		for i, want := range []string{
			`^ID +DESCRIPTION +ABILITIES +USER +CREATED +LAST USED +REVOKED$`,
			`^` + id + ` +shop backend +create-ticket +- +` + date + ` +- +-$`,
			`^\d+ +- +tickets:write,workflow:read +jane@example.com +` + date + ` +- +-$`,
		} {
			if i >= len(lines) || !regexp.MustCompile(want).MatchString(lines[i]) {
				t.Fatalf("token list:\n%s\nline %d does not match %s", out, i, want)
			}
		}
		if strings.Contains(out, secret) {
			t.Error("token list shows a secret")
		}

		out, err = run(t, url, "token", "revoke", id)
		if err != nil || out != "revoked token "+id+"\n" {
			t.Fatalf("token revoke: %q, %v", out, err)
		}
		if _, err := svc.Authenticate(ctx, "Bearer "+strings.TrimSpace(shop)); err == nil {
			t.Error("a revoked token authenticated")
		}
		out, _ = run(t, url, "token", "list")
		if !regexp.MustCompile(`(?m)^` + id + ` +shop backend .* ` + date + `$`).MatchString(out) {
			t.Errorf("token list after revoking:\n%s", out)
		}
		ev := db.AuditEvent.Query().Where(auditevent.Resource("token")).Order(ent.Desc(auditevent.FieldID)).FirstX(ctx)
		if ev.Actor != "cli" || ev.Action != "revoke" || ev.ResourceName != id {
			t.Errorf("audit event = %+v", ev)
		}

		for _, arg := range []string{"abc", "0"} {
			if _, err := run(t, url, "token", "revoke", arg); err == nil || !strings.Contains(err.Error(), "positive number") {
				t.Errorf("token revoke %s: %v", arg, err)
			}
		}
		if _, err := run(t, url, "token", "revoke", "9999"); err == nil || err.Error() != "Token 9999 not found." {
			t.Errorf("token revoke 9999: %v", err)
		}
	})
}

func TestUserListUpdateDeactivate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})
		for _, args := range [][]string{
			{"--email", "jane@example.com", "--name", "Jane Doe", "--role", "admin"},
			{"--email", "sam@example.com", "--name", "Sam"},
		} {
			if _, err := run(t, url, append([]string{"user", "create"}, args...)...); err != nil {
				t.Fatal(err)
			}
		}
		tok, err := run(t, url, "token", "create", "--ability", "tickets:read", "--user", "sam@example.com")
		if err != nil {
			t.Fatal(err)
		}
		sam := db.User.Query().Where(user.Email("sam@example.com")).OnlyX(ctx)

		out, err := run(t, url, "user", "list")
		if err != nil {
			t.Fatalf("user list: %v", err)
		}
		want := regexp.MustCompile(`^ID +EMAIL +NAME +ROLE +ACTIVE +CREATED\n` +
			`\d+ +jane@example.com +Jane Doe +admin +true +\d{4}-\S+Z\n` +
			`\d+ +sam@example.com +Sam +staff +true +\d{4}-\S+Z\n$`)
		if !want.MatchString(out) {
			t.Errorf("user list:\n%s", out)
		}

		// Only the flags given change.
		out, err = run(t, url, "user", "update", "SAM@example.com", "--role", "admin")
		if err != nil || out != fmt.Sprintf("updated user %d sam@example.com: name \"Sam\", role admin, active true\n", sam.ID) {
			t.Fatalf("user update --role: %q, %v", out, err)
		}
		out, err = run(t, url, "user", "update", "sam@example.com", "--name", "Sam Smith")
		if err != nil || !strings.Contains(out, `name "Sam Smith", role admin, active true`) {
			t.Fatalf("user update --name: %q, %v", out, err)
		}
		if _, err := run(t, url, "user", "update", "sam@example.com"); err == nil || !strings.Contains(err.Error(), "nothing to change") {
			t.Errorf("user update without flags: %v", err)
		}
		if _, err := run(t, url, "user", "update", "sam@example.com", "--role", "boss"); err == nil ||
			!strings.Contains(err.Error(), "--role: The role must be one of: staff, admin.") {
			t.Errorf("user update --role boss: %v", err)
		}
		if _, err := run(t, url, "user", "update", "nobody@example.com", "--name", "X"); err == nil ||
			err.Error() != "There is no user with the email nobody@example.com." {
			t.Errorf("user update of nobody: %v", err)
		}

		// Deactivated: the user's token stops working; --active=true
		// brings it back.
		bearer := "Bearer " + strings.TrimSpace(tok)
		out, err = run(t, url, "user", "deactivate", "sam@example.com")
		if err != nil || out != fmt.Sprintf("deactivated user %d sam@example.com\n", sam.ID) {
			t.Fatalf("user deactivate: %q, %v", out, err)
		}
		_, err = svc.Authenticate(ctx, bearer)
		if ae, ok := err.(*apierr.Error); !ok || ae.Reason != apierr.Unauthenticated {
			t.Errorf("deactivated user's token: %v", err)
		}
		if out, _ := run(t, url, "user", "list"); !regexp.MustCompile(`(?m)^\d+ +sam@example.com +Sam Smith +admin +false `).MatchString(out) {
			t.Errorf("user list after deactivate:\n%s", out)
		}
		if _, err := run(t, url, "user", "update", "sam@example.com", "--active=true"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, bearer); err != nil {
			t.Errorf("reactivated user's token: %v", err)
		}

		var got []string
		for _, ev := range db.AuditEvent.Query().Where(auditevent.Resource("user"), auditevent.ResourceName("sam@example.com")).
			Order(ent.Asc(auditevent.FieldID)).AllX(ctx) {
			got = append(got, ev.Actor+" "+ev.Action)
		}
		if strings.Join(got, ", ") != "cli create, cli update, cli update, cli deactivate, cli update" {
			t.Errorf("audit events: %v", got)
		}
	})
}

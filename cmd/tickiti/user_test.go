package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tickiti/tickiti/ent/user"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/service"
)

func TestUserCreateAndUserToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)

		out, err := run(t, url, "user", "create", "--email", " Jane.Doe@Example.COM ", "--name", "Jane Doe", "--role", "admin")
		if err != nil {
			t.Fatalf("user create: %v", err)
		}
		u := db.User.Query().OnlyX(ctx)
		if want := fmt.Sprintf("created user %d jane.doe@example.com (admin)\n", u.ID); out != want {
			t.Errorf("stdout = %q, want %q", out, want)
		}
		if u.Email != "jane.doe@example.com" || u.Name != "Jane Doe" || u.Role != user.RoleAdmin || !u.Active {
			t.Errorf("user = %+v", u)
		}

		// The email is unique whatever its case.
		_, err = run(t, url, "user", "create", "--email", "JANE.DOE@example.com", "--name", "Other")
		if err == nil || !strings.Contains(err.Error(), "--email: A user with the email jane.doe@example.com already exists.") {
			t.Errorf("duplicate: err = %v", err)
		}
		_, err = run(t, url, "user", "create", "--email", "not-an-address", "--name", "X", "--role", "boss")
		if err == nil || !strings.Contains(err.Error(), "--email: The email field must be a valid email address") ||
			!strings.Contains(err.Error(), "--role: The role must be one of: staff, admin.") {
			t.Errorf("invalid: err = %v, want one line per field", err)
		}
		if n := db.User.Query().CountX(ctx); n != 1 {
			t.Errorf("%d users, want 1", n)
		}

		// The default role is staff.
		if out, err := run(t, url, "user", "create", "--email", "sam@example.com", "--name", "Sam"); err != nil || !strings.HasSuffix(out, " sam@example.com (staff)\n") {
			t.Errorf("user create without --role: %q, %v", out, err)
		}

		out, err = run(t, url, "token", "create", "--ability", "tickets:write", "--user", "Jane.Doe@example.com")
		if err != nil {
			t.Fatalf("token create --user: %v", err)
		}
		p, err := service.New(db, service.Options{}).Authenticate(ctx, "Bearer "+strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
		if p.UserID == nil || *p.UserID != u.ID || p.UserName != "Jane Doe" || p.UserEmail != "jane.doe@example.com" || !p.IsAdmin() {
			t.Errorf("principal = %+v, want Jane as admin", p)
		}

		// A deactivated user gets no new token.
		db.User.UpdateOneID(u.ID).SetActive(false).ExecX(ctx)
		_, err = run(t, url, "token", "create", "--ability", "tickets:write", "--user", "jane.doe@example.com")
		if err == nil || !strings.Contains(err.Error(), "--user: The user jane.doe@example.com is deactivated.") {
			t.Errorf("deactivated user: err = %v", err)
		}
	})
}

package main

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/service"
)

var tokenOutput = regexp.MustCompile(`^([0-9]+)\|([A-Za-z0-9]{40})\n$`)

func TestTokenCreate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})

		out, err := run(t, url, "token", "create", "--ability", "create-ticket", "--ability", "tickets:read",
			"--description", "shop backend")
		if err != nil {
			t.Fatalf("token create: %v", err)
		}
		m := tokenOutput.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("stdout = %q, want only <id>|<secret> and a newline", out)
		}
		tok := strings.TrimSpace(out)
		id, _ := strconv.Atoi(m[1])
		row := db.APIToken.GetX(ctx, id)
		if !bytes.Equal(row.SecretHash, auth.Hash(m[2])) {
			t.Error("the stored hash is not the hash of the printed secret")
		}
		if bytes.Contains(row.SecretHash, []byte(m[2])) {
			t.Error("the secret is stored in clear")
		}
		if row.Description != "shop backend" || row.UserID != nil || row.CreatedAt.IsZero() {
			t.Errorf("token row = %+v", row)
		}

		p, err := svc.Authenticate(ctx, "Bearer "+tok)
		if err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
		if !slices.Equal(p.Abilities, []string{"create-ticket", "tickets:read"}) || p.UserID != nil || p.AuthorName() != auth.SystemName {
			t.Errorf("principal = %+v, want the two abilities as the system user", p)
		}
		if _, err := svc.Authenticate(ctx, "Bearer "+m[1]+"|wrong"); err == nil {
			t.Error("a wrong secret authenticated")
		}

		// Comma-separated abilities work too.
		out, err = run(t, url, "token", "create", "--ability", "tickets:write,workflow:read")
		if err != nil {
			t.Fatalf("token create: %v", err)
		}
		p, err = svc.Authenticate(ctx, "Bearer "+strings.TrimSpace(out))
		if err != nil || !slices.Equal(p.Abilities, []string{"tickets:write", "workflow:read"}) {
			t.Errorf("principal = %+v, %v", p, err)
		}
	})
}

func TestTokenCreateRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		db := dbtest.Open(t, url)
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--ability", "create-ticket", "--ability", "delete-everything"},
				`--ability: Unknown ability "delete-everything"; the known abilities are: create-ticket, tickets:read`},
			{[]string{}, `required flag(s) "ability" not set`},
			{[]string{"--ability", "create-ticket", "--user", "nobody@example.com"},
				"--user: There is no user with the email nobody@example.com."},
		} {
			out, err := run(t, url, append([]string{"token", "create"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("token create %v: err = %v, want %q", tc.args, err, tc.want)
			}
			if out != "" {
				t.Errorf("token create %v: stdout = %q, want nothing", tc.args, out)
			}
		}
		if n := db.APIToken.Query().CountX(context.Background()); n != 0 {
			t.Errorf("%d tokens stored, want 0", n)
		}
	})
}

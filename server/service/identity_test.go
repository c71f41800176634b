package service_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/service"
)

func fieldErrors(t *testing.T, err error) map[string][]string {
	t.Helper()
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Reason != apierr.ValidationFailed {
		t.Fatalf("err = %v, want validation_failed", err)
	}
	return ae.Fields
}

func TestCreateToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		svc := service.New(db, service.Options{Now: func() time.Time { return now }})

		created, err := svc.CreateToken(ctx, nil, []string{"create-ticket", " create-ticket", "tickets:read"}, "  shop  ", "")
		if err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		tok := created.PlainTextToken
		id, secret, ok := auth.Parse(tok)
		if !ok || len(secret) != 40 {
			t.Fatalf("token %q is not <id>|<40-char secret>", tok)
		}
		row := db.APIToken.GetX(ctx, id)
		if !reflect.DeepEqual(row.Abilities, []string{"create-ticket", "tickets:read"}) || row.Description != "shop" ||
			!row.CreatedAt.Equal(now) || !auth.Matches(secret, row.SecretHash) {
			t.Errorf("row = %+v", row)
		}
		p, err := svc.Authenticate(ctx, "Bearer "+tok)
		if err != nil || !p.Can(auth.CreateTicket) || p.Can(auth.TicketsWrite) {
			t.Errorf("principal = %+v, %v", p, err)
		}

		fields := fieldErrors(t, must2(svc.CreateToken(ctx, nil, nil, "", "")))
		if got := fields["ability"]; len(got) != 1 || !strings.HasPrefix(got[0], "At least one ability is required; the known abilities are: create-ticket,") {
			t.Errorf("no ability: %v", fields)
		}
		fields = fieldErrors(t, must2(svc.CreateToken(ctx, nil, []string{"admin"}, strings.Repeat("x", 256), "")))
		if len(fields["ability"]) != 1 || len(fields["description"]) != 1 {
			t.Errorf("bad ability and description: %v", fields)
		}
		if n := db.APIToken.Query().CountX(ctx); n != 1 {
			t.Errorf("%d tokens, want 1", n)
		}
	})
}

func TestCreateUser(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)
		svc := service.New(db, service.Options{})

		u, err := svc.CreateUser(ctx, nil, "Ann@Example.com", " Ann ", "")
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if u.Email != "ann@example.com" || u.Name != "Ann" || string(u.Role) != "staff" {
			t.Errorf("user = %+v", u)
		}
		_, err = svc.CreateUser(ctx, nil, "ANN@example.com", "Ann 2", "admin")
		if got := fieldErrors(t, err); !reflect.DeepEqual(got, map[string][]string{"email": {"A user with the email ann@example.com already exists."}}) {
			t.Errorf("duplicate: %v", got)
		}
		_, err = svc.CreateUser(ctx, nil, "Ann <x@example.com>", "", "boss")
		if got := fieldErrors(t, err); len(got["email"]) != 1 || len(got["name"]) != 1 || len(got["role"]) != 1 {
			t.Errorf("invalid: %v", got)
		}
	})
}

// must2 keeps the error of a two-result call.
func must2[T any](_ T, err error) error { return err }

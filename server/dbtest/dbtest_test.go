package dbtest_test

import (
	"context"
	"database/sql"
	neturl "net/url"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/tickiti/tickiti/server/dbtest"
)

func TestEach(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := dbtest.Open(t, url)

		q, err := db.Queue.Create().SetName("Inbox").Save(ctx)
		if err != nil {
			t.Fatalf("create queue: %v", err)
		}
		got, err := db.Queue.Get(ctx, q.ID)
		if err != nil {
			t.Fatalf("get queue: %v", err)
		}
		if got.Name != "Inbox" {
			t.Errorf("queue name = %q, want Inbox", got.Name)
		}

		if db.Dialect != dialect.Postgres {
			return
		}
		// The migration must have created its tables in the test's own
		// schema, not in public.
		var schema string
		if err := db.SQL.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(schema, "t_") {
			t.Errorf("current_schema() = %q, want t_...", schema)
		}
		var n int
		err = db.SQL.QueryRowContext(ctx,
			"SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'queues'",
			schema).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("table queues in schema %s: found %d, want 1", schema, n)
		}
	})
}

func TestPostgresIsolated(t *testing.T) {
	ctx := context.Background()
	a := dbtest.Open(t, dbtest.PostgresURL(t))
	b := dbtest.Open(t, dbtest.PostgresURL(t))

	if _, err := a.Queue.Create().SetName("Inbox").Save(ctx); err != nil {
		t.Fatalf("create queue in a: %v", err)
	}
	// Same unique name in b: only possible if the tables are distinct.
	if _, err := b.Queue.Create().SetName("Inbox").Save(ctx); err != nil {
		t.Fatalf("create queue in b: %v", err)
	}
	if _, err := b.Queue.Create().SetName("Other").Save(ctx); err != nil {
		t.Fatalf("create queue in b: %v", err)
	}
	if n := a.Queue.Query().CountX(ctx); n != 1 {
		t.Errorf("a sees %d queues, want 1", n)
	}
	if n := b.Queue.Query().CountX(ctx); n != 2 {
		t.Errorf("b sees %d queues, want 2", n)
	}
}

func TestPostgresSchemaDropped(t *testing.T) {
	var url string
	t.Run("use", func(t *testing.T) {
		url = dbtest.PostgresURL(t)
		dbtest.Open(t, url)
	})
	if url == "" {
		t.Skip("PostgreSQL skipped")
	}
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	schema := q.Get("search_path")
	q.Del("search_path")
	u.RawQuery = q.Encode()

	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var exists bool
	err = db.QueryRowContext(context.Background(),
		"SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("schema %s still exists after the test ended", schema)
	}
}

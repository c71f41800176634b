// Package dbtest runs storage tests on every database Tickiti supports:
// an SQLite file and PostgreSQL. It is imported by _test.go files only.
//
// PostgreSQL comes from $TICKITI_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable, which
// `make postgres` starts). Every test gets its own schema, dropped when the
// test ends, so tests run in parallel without seeing each other's rows.
// When PostgreSQL is down the tests fail: a storage test that silently runs
// on SQLite only would claim more than it checked. Set
// TICKITI_TEST_SKIP_POSTGRES=1 to skip the PostgreSQL half on purpose.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	neturl "net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/tickiti/tickiti/server/store"
)

// defaultPostgres is the server used when $TICKITI_TEST_POSTGRES is unset.
const defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Each runs fn as the subtests "sqlite" and "postgres", each with the URL of
// an empty database of its own. Pass the URL to Open, or to store.Open when
// the test is about opening.
func Each(t *testing.T, fn func(t *testing.T, url string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, "sqlite:"+filepath.Join(t.TempDir(), "tickiti.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, PostgresURL(t))
	})
}

// Open opens url with store.Open, migrates it, and closes it when the test
// ends.
func Open(t testing.TB, url string) *store.DB {
	t.Helper()
	// Not t.Context(): it is canceled before the cleanups run.
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("dbtest: close: %v", err)
		}
	})
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return db
}

// PostgresURL creates a fresh schema t_<random hex> on the test PostgreSQL
// server, drops it (CASCADE) when the test ends, and returns a URL whose
// search_path is that schema: every connection opened from it, and ent's
// migration, work inside the schema only.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TICKITI_TEST_POSTGRES")
	if base == "" {
		base = defaultPostgres
	}
	u, err := neturl.Parse(base)
	if err != nil {
		t.Fatalf("dbtest: TICKITI_TEST_POSTGRES: %v", err)
	}

	admin, err := connect(base)
	if err != nil {
		if os.Getenv("TICKITI_TEST_SKIP_POSTGRES") == "1" {
			t.Skipf("dbtest: PostgreSQL unreachable, skipped because TICKITI_TEST_SKIP_POSTGRES=1: %v", err)
		}
		t.Fatalf("dbtest: PostgreSQL is needed by every storage test and is unreachable: %v\n"+
			"Start it with `make postgres` (which runs `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "+
			"and creates the database test), point TICKITI_TEST_POSTGRES at another server, "+
			"or set TICKITI_TEST_SKIP_POSTGRES=1 to skip the PostgreSQL half of the storage tests.", err)
	}
	defer admin.Close()

	schema := "t_" + randomHex()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The name is ours (hex only), so building the statement is safe.
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("dbtest: create schema %s: %v", schema, err)
	}
	t.Cleanup(func() { dropSchema(t, base, schema) })

	// pgx passes parameters it does not know to the server as run-time
	// parameters, so every connection starts with this search_path.
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// connect opens a small pool on url and checks that the server answers.
func connect(url string) (*sql.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// dropSchema runs as a cleanup, after the cleanups registered later (such as
// Open's Close) have closed the test's own connections.
func dropSchema(t testing.TB, base, schema string) {
	admin, err := connect(base)
	if err != nil {
		t.Errorf("dbtest: drop schema %s: %v", schema, err)
		return
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
		t.Errorf("dbtest: drop schema %s: %v", schema, err)
	}
}

// randomHex returns 16 random hex digits: lowercase, so the schema name
// needs no quoting.
func randomHex() string {
	b := make([]byte, 8)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b)
}

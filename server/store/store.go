// Package store opens the database behind Tickiti: an embedded SQLite file
// by default, PostgreSQL to scale out. Both speak through ent.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/migrate"
)

// DB is an open database.
type DB struct {
	*ent.Client
	// SQL is the connection pool under the ent client.
	SQL *sql.DB
	// Dialect is dialect.SQLite or dialect.Postgres.
	Dialect string
}

// Open connects to url: "sqlite:PATH" (the file and its folder are created
// on first use) or "postgres://...". It does not migrate.
func Open(ctx context.Context, url string) (*DB, error) {
	driver, dsn, dia, err := parse(url)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", redact(url), err)
	}
	if dia == dialect.Postgres {
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", redact(url), err)
	}
	drv := entsql.OpenDB(dia, db)
	return &DB{Client: ent.NewClient(ent.Driver(drv)), SQL: db, Dialect: dia}, nil
}

// Migrate brings the schema up to date. It only adds: columns and tables
// that are gone from the schemas stay in the database.
func (db *DB) Migrate(ctx context.Context) error {
	if err := db.Schema.Create(ctx, migrate.WithForeignKeys(true)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Close closes the ent client and the pool.
func (db *DB) Close() error { return db.Client.Close() }

func parse(url string) (driver, dsn, dia string, err error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
		if path == "" {
			return "", "", "", fmt.Errorf("database URL %q: sqlite: needs a file path, e.g. sqlite:./data/tickiti.db", url)
		}
		if path != ":memory:" {
			if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
				return "", "", "", fmt.Errorf("create the folder of %s: %w", path, err)
			}
		}
		// WAL lets readers run beside the writer; immediate transactions
		// take the write lock up front, so two writers queue on
		// busy_timeout instead of failing to upgrade a read lock. Times are
		// written in one fixed format and zone (UTC), because SQLite compares
		// them as text: lease expiry, due deliveries and time filters rely on
		// that order.
		q := "_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
			"&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite&_timezone=UTC"
		return "sqlite", "file:" + path + "?" + q, dialect.SQLite, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return "pgx", url, dialect.Postgres, nil
	default:
		return "", "", "", fmt.Errorf("database URL %q: want sqlite:PATH or postgres://...", redact(url))
	}
}

// redact hides a password in a URL for error messages.
func redact(url string) string {
	at := strings.LastIndex(url, "@")
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 {
		return url
	}
	userinfo := url[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return url[:scheme+3] + userinfo[:i] + ":***" + url[at:]
	}
	return url
}

// Tx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise.
func (db *DB) Tx(ctx context.Context, fn func(tx *ent.Tx) error) error {
	tx, err := db.Client.Tx(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return fmt.Errorf("%w (rollback: %v)", err, rerr)
		}
		return err
	}
	return tx.Commit()
}

// Read runs fn on a read-only transaction that sees one consistent snapshot,
// so a result assembled from several queries (ent loads edges with one query
// each) never mixes states from before and after another transaction.
func (db *DB) Read(ctx context.Context, fn func(c *ent.Client) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.Dialect == dialect.Postgres {
		// READ COMMITTED would give each statement its own snapshot.
		opts.Isolation = sql.LevelRepeatableRead
	}
	// On SQLite a read-only transaction is deferred: it takes no write lock,
	// and WAL keeps its snapshot from the first read on.
	tx, err := db.Client.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx.Client())
}

package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tickiti/tickiti/ent/auditevent"
	"github.com/tickiti/tickiti/ent/schema"
	"github.com/tickiti/tickiti/server/store"
)

// TestSQLiteComparesTimesAcrossZones: SQLite compares times as text, so a
// time written in the machine's zone must still compare right with one
// given in another (the dispatcher's due deliveries, audit filters).
func TestSQLiteComparesTimesAcrossZones(t *testing.T) {
	local := time.Local
	time.Local = time.FixedZone("UTC-5", -5*3600)
	t.Cleanup(func() { time.Local = local })

	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "tz.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2030, 1, 2, 10, 0, 0, 0, time.Local) // 15:00 UTC
	db.AuditEvent.Create().SetCreatedAt(at).SetActor("cli").SetResource("queue").SetResourceName("Inbox").
		SetAction("create").SetChanges([]schema.AuditChange{}).ExecX(ctx)

	after := at.Add(-time.Hour).UTC() // 14:00 UTC: before the event
	if n := db.AuditEvent.Query().Where(auditevent.CreatedAtGTE(after)).CountX(ctx); n != 1 {
		t.Errorf("events at or after 14:00 UTC: %d, want 1", n)
	}
	before := at.Add(time.Hour).UTC() // 16:00 UTC: after the event
	if n := db.AuditEvent.Query().Where(auditevent.CreatedAtLT(before)).CountX(ctx); n != 1 {
		t.Errorf("events before 16:00 UTC: %d, want 1", n)
	}
	got := db.AuditEvent.Query().OnlyX(ctx).CreatedAt
	if !got.Equal(at) {
		t.Errorf("read back %v, want %v", got, at)
	}
}

package service

import (
	"context"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/schema"
	"github.com/tickiti/tickiti/server/auth"
)

// Redacted stands for a secret in the audit log.
const Redacted = "[redacted]"

// audit records a settings change in tx, so the record lands with the
// change or not at all. p is nil for the command line.
func audit(ctx context.Context, tx *ent.Tx, p *auth.Principal, resource, name, action string, changes ...schema.AuditChange) error {
	ev := tx.AuditEvent.Create().SetResource(resource).SetResourceName(name).SetAction(action).
		SetChanges(append([]schema.AuditChange{}, changes...))
	if p == nil {
		ev.SetActor("cli")
	} else {
		ev.SetActor(p.AuthorName()).SetNillableActorUserID(p.UserID)
		if p.TokenID != 0 {
			// A console session acts without a token.
			ev.SetActorTokenID(p.TokenID)
		}
	}
	return ev.Exec(ctx)
}

// changed appends a change when old and new differ.
func changed[T comparable](changes []schema.AuditChange, field string, old, new T) []schema.AuditChange {
	if old == new {
		return changes
	}
	return append(changes, schema.AuditChange{Field: field, Old: old, New: new})
}

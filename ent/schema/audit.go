package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// AuditChange is one changed attribute of a settings resource. Secrets are
// never written: their values read "[redacted]".
type AuditChange struct {
	Field string `json:"field"`
	Old   any    `json:"old,omitempty"`
	New   any    `json:"new,omitempty"`
}

// AuditEvent records a settings change: who, when, what, old → new.
type AuditEvent struct{ ent.Schema }

func (AuditEvent) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Default(time.Now).Immutable(),
		// The actor: a user's name, "Tickiti" for a token without a user,
		// or "cli" for the command line.
		field.String("actor").Immutable(),
		field.Int("actor_user_id").Optional().Nillable().Immutable(),
		field.Int("actor_token_id").Optional().Nillable().Immutable(),
		// The kind of resource: intervention, template, queue, token, user.
		field.String("resource").Immutable(),
		// The resource's name or id.
		field.String("resource_name").Immutable(),
		// create, update, delete, enable, disable, rotate_token, revoke, ...
		field.String("action").Immutable(),
		field.JSON("changes", []AuditChange{}).Immutable(),
	}
}

func (AuditEvent) Indexes() []ent.Index {
	return []ent.Index{index.Fields("resource", "created_at"), index.Fields("created_at")}
}

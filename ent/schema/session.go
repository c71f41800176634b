package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Session is a signed-in console user. The browser holds a random token in
// a cookie; only its SHA-256 hash is stored, so a copy of the database
// cannot be used to sign in. Keeping sessions server side is what lets
// sign-out and deactivation end them at once.
type Session struct{ ent.Schema }

func (Session) Fields() []ent.Field {
	return []ent.Field{
		field.Bytes("token_hash").Unique().Immutable().Sensitive(),
		field.Int("user_id").Immutable(),
		field.Time("created_at").Default(time.Now).Immutable(),
		// The session ends at expires_at; activity moves it forward (an
		// idle timeout), up to a limit counted from created_at.
		field.Time("expires_at"),
		field.Time("last_seen_at").Default(time.Now),
	}
}

func (Session) Edges() []ent.Edge {
	// Declared on this side only, so the user schema stays as it is.
	return []ent.Edge{
		edge.To("user", User.Type).Field("user_id").Unique().Required().Immutable(),
	}
}

func (Session) Indexes() []ent.Index {
	return []ent.Index{index.Fields("user_id"), index.Fields("expires_at")}
}

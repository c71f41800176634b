package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Delivery is the epilog call of one submission. The row is the source of
// truth: it is written with the submission and the dispatcher works from it,
// so a restart or a remote that is down loses nothing.
type Delivery struct{ ent.Schema }

func (Delivery) Mixin() []ent.Mixin { return []ent.Mixin{timestamps{}} }

func (Delivery) Fields() []ent.Field {
	return []ent.Field{
		// Sent as a header on every attempt so the remote can de-duplicate.
		field.String("delivery_uid").Unique().Immutable(),
		field.Int("response_id").Immutable(),
		// The exact JSON body to send, fixed at submit time.
		field.Bytes("body").Immutable(),
		field.Enum("state").Values("pending", "delivered", "completed", "refused", "failed").Default("pending"),
		field.Int("attempts").Default(0),
		field.Time("next_attempt_at").Default(time.Now),
		// A dispatcher owns the delivery until this time; another may take
		// it over once the lease has expired.
		field.Time("lease_until").Optional().Nillable(),
		// Names the claim that holds the lease; every write of an attempt's
		// outcome is conditional on it, so a dispatcher that lost its lease
		// cannot overwrite its successor's work.
		field.String("lease_token").Default(""),
		field.Text("last_error").Default(""),
		field.Int("payload_id"),
	}
}

func (Delivery) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("payload", Payload.Type).Ref("deliveries").Field("payload_id").Unique().Required(),
	}
}

func (Delivery) Indexes() []ent.Index {
	return []ent.Index{index.Fields("state", "next_attempt_at")}
}

// IdempotencyKey remembers a create_ticket request by its Idempotency-Key so
// a retry returns the first answer. A key belongs to the token that first
// used it: another token presenting it gets a conflict.
type IdempotencyKey struct{ ent.Schema }

func (IdempotencyKey) Fields() []ent.Field {
	return []ent.Field{
		field.Int("token_id"),
		field.String("key").MaxLen(255),
		// SHA-256 of the canonical request.
		field.Bytes("fingerprint"),
		// Nil while the first request is in flight.
		field.Bytes("response").Optional().Nillable(),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("expires_at"),
	}
}

func (IdempotencyKey) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("key").Unique(),
		index.Fields("expires_at"),
	}
}

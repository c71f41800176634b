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
		// How many times staff sent the delivery again by hand; each
		// redelivery restarts the attempt schedule (attempts counts the
		// attempts since).
		field.Int("redeliveries").Default(0),
		field.Int("payload_id"),
	}
}

func (Delivery) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("payload", Payload.Type).Ref("deliveries").Field("payload_id").Unique().Required(),
		edge.To("attempt_log", DeliveryAttempt.Type),
	}
}

func (Delivery) Indexes() []ent.Index {
	return []ent.Index{index.Fields("state", "next_attempt_at")}
}

// DeliveryAttempt records one attempt of a delivery, written in the same
// transaction as the delivery's state change, so the log staff read never
// disagrees with the state.
type DeliveryAttempt struct{ ent.Schema }

func (DeliveryAttempt) Fields() []ent.Field {
	return []ent.Field{
		field.Int("delivery_id").Immutable(),
		field.Time("started_at").Immutable(),
		field.Int64("duration_ms").Default(0).Immutable(),
		// The HTTP status of the answer; 0 when none arrived.
		field.Int("http_status").Default(0).Immutable(),
		// What went wrong (a network error, a timeout, a bad answer, a
		// mismatched final block); empty when all went well.
		field.Text("error").Default("").Immutable(),
		// The start of the answer's body, as valid UTF-8.
		field.Text("response_body").Default("").Immutable(),
		field.Bool("response_body_truncated").Default(false).Immutable(),
		// success: 2xx with ok true; refused: 2xx with ok false;
		// invalid_answer: 2xx that is not the expected JSON (retried);
		// transient: timeout, network error, 5xx, 408, 429 (retried);
		// permanent: other 4xx, a redirect, a bad configuration (not
		// retried); interrupted: the dispatcher holding the attempt stopped
		// before recording an outcome, found when its lease expired.
		field.Enum("outcome").Values("success", "refused", "invalid_answer", "transient", "permanent", "interrupted").Immutable(),
	}
}

func (DeliveryAttempt) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("delivery", Delivery.Type).Ref("attempt_log").Field("delivery_id").Unique().Required().Immutable(),
	}
}

func (DeliveryAttempt) Indexes() []ent.Index {
	return []ent.Index{index.Fields("delivery_id")}
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

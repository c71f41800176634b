package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"github.com/tickiti/tickiti/server/uifield"
)

// Queue groups tickets for the staff who work them.
type Queue struct{ ent.Schema }

func (Queue) Mixin() []ent.Mixin { return []ent.Mixin{timestamps{}} }

func (Queue) Fields() []ent.Field {
	return []ent.Field{field.String("name").Unique().NotEmpty()}
}

func (Queue) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tickets", Ticket.Type),
		edge.To("interventions", Intervention.Type),
	}
}

// Template is a Mustache text rendered into ticket responses. Intervention
// templates are named "<intervention>.private|public|final".
type Template struct{ ent.Schema }

func (Template) Mixin() []ent.Mixin { return []ent.Mixin{timestamps{}} }

func (Template) Fields() []ent.Field {
	return []ent.Field{
		field.String("identifier").Unique().NotEmpty(),
		field.Text("body"),
	}
}

// Intervention is the definition of a human decision a remote system can ask
// for: its UI fields and how to call the remote back.
type Intervention struct{ ent.Schema }

func (Intervention) Mixin() []ent.Mixin { return []ent.Mixin{timestamps{}} }

func (Intervention) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Unique().NotEmpty().Immutable(),
		field.String("title"),
		field.Bool("enabled").Default(true),
		field.Bool("remote_enabled").Default(false),
		field.String("remote_epilog_url").Default(""),
		field.Int("remote_timeout_seconds").Default(10),
		// Sent to the remote as a bearer token, so it is kept, not hashed.
		field.String("remote_token").Default("").Sensitive(),
		// The Standard Webhooks signing secret ("whsec_" + base64 of 24
		// random bytes); epilog calls are signed while it is set. After a
		// rotation the previous secret keeps signing too, beside the new
		// one, until previous_expires_at, so the remote can switch over.
		field.String("signing_secret").Default("").Sensitive(),
		field.String("previous_signing_secret").Default("").Sensitive(),
		field.Time("previous_expires_at").Optional().Nillable(),
		field.JSON("fields", []uifield.Field{}),
		field.Int("queue_id"),
	}
}

func (Intervention) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("queue", Queue.Type).Ref("interventions").Field("queue_id").Unique().Required(),
		edge.To("payloads", Payload.Type),
	}
}

package schema

import (
	"encoding/json"
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Contact is a customer who writes to Tickiti.
type Contact struct{ ent.Schema }

func (Contact) Mixin() []ent.Mixin { return []ent.Mixin{timestamps{}} }

func (Contact) Fields() []ent.Field {
	return []ent.Field{field.String("email").Unique().NotEmpty()}
}

func (Contact) Edges() []ent.Edge {
	return []ent.Edge{edge.To("tickets", Ticket.Type)}
}

// Ticket is a conversation with a customer. Its human-facing number is
// derived from its id (id + 100000), so numbering needs no extra write.
type Ticket struct{ ent.Schema }

func (Ticket) Mixin() []ent.Mixin { return []ent.Mixin{timestamps{}} }

func (Ticket) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("status").Values("open", "closed").Default("open"),
		field.Int("queue_id"),
		field.Int("contact_id"),
	}
}

func (Ticket) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("queue", Queue.Type).Ref("tickets").Field("queue_id").Unique().Required(),
		edge.From("contact", Contact.Type).Ref("tickets").Field("contact_id").Unique().Required(),
		edge.To("responses", Response.Type),
		edge.To("payload", Payload.Type).Unique(),
	}
}

// Response is one message on a ticket: a public answer or an internal note.
type Response struct{ ent.Schema }

func (Response) Fields() []ent.Field {
	return []ent.Field{
		field.Bool("internal").Default(false),
		field.Text("content").Default(""),
		// Audit text appended by the remote's final block.
		field.Text("audit").Default(""),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Int("ticket_id"),
		// Nil for responses Tickiti itself writes (rendered templates).
		field.Int("author_id").Optional().Nillable(),
		// The display name at the time of writing.
		field.String("author_name"),
	}
}

func (Response) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("ticket", Ticket.Type).Ref("responses").Field("ticket_id").Unique().Required(),
		edge.From("author", User.Type).Ref("responses").Field("author_id").Unique(),
	}
}

func (Response) Indexes() []ent.Index {
	return []ent.Index{index.Fields("ticket_id", "created_at")}
}

// Payload is one instance of an intervention on a ticket: the data bag the
// remote sent, as staff last edited it.
type Payload struct{ ent.Schema }

func (Payload) Mixin() []ent.Mixin { return []ent.Mixin{timestamps{}} }

func (Payload) Fields() []ent.Field {
	return []ent.Field{
		field.String("uid").NotEmpty().MaxRuneLen(255), // characters, as create_ticket checks
		// open → submitted → delivered | completed; a refusal reopens it.
		field.Enum("status").Values("open", "submitted", "delivered", "completed").Default("open"),
		field.JSON("data", json.RawMessage{}),
		field.String("remote_reference").Default(""),
		field.Text("remote_message").Default(""),
		field.Int("ticket_id").Unique(),
		field.Int("intervention_id"),
	}
}

func (Payload) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("ticket", Ticket.Type).Ref("payload").Field("ticket_id").Unique().Required(),
		edge.From("intervention", Intervention.Type).Ref("payloads").Field("intervention_id").Unique().Required(),
		edge.To("deliveries", Delivery.Type),
	}
}

func (Payload) Indexes() []ent.Index {
	// A uid names one payload per intervention.
	return []ent.Index{index.Fields("intervention_id", "uid").Unique()}
}

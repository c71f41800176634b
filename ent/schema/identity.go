package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// User is a staff member or an administrator.
type User struct{ ent.Schema }

func (User) Mixin() []ent.Mixin { return []ent.Mixin{timestamps{}} }

func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("email").Unique().NotEmpty(),
		field.String("name").NotEmpty(),
		field.Enum("role").Values("staff", "admin").Default("staff"),
		field.Bool("active").Default(true),
		field.String("password_hash").Optional().Sensitive(),
	}
}

func (User) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tokens", APIToken.Type),
		edge.To("responses", Response.Type),
	}
}

// APIToken authenticates a caller of the API. The caller presents
// "<id>|<secret>"; only a SHA-256 hash of the secret is stored (the secret is
// 256 random bits, so a slow hash would add nothing).
type APIToken struct{ ent.Schema }

func (APIToken) Fields() []ent.Field {
	return []ent.Field{
		field.String("description").Default(""),
		field.Strings("abilities"),
		field.Bytes("secret_hash").Sensitive(),
		field.Time("created_at").Immutable(),
		field.Time("last_used_at").Optional().Nillable(),
		field.Time("revoked_at").Optional().Nillable(),
		field.Int("user_id").Optional().Nillable(),
	}
}

func (APIToken) Edges() []ent.Edge {
	return []ent.Edge{
		// Without a user the token acts as the built-in system user.
		edge.From("user", User.Type).Ref("tokens").Field("user_id").Unique(),
	}
}

// Package ent holds the generated storage code; the schemas are in ./schema.
package ent

//go:generate go tool ent generate --feature sql/execquery,sql/upsert,sql/lock ./schema

// Package auth holds what identifies a caller: API tokens ("<id>|<secret>"),
// their abilities, and the principal a request acts as.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"strconv"
	"strings"
)

// Abilities an API token can carry. A ":write" ability implies its ":read".
const (
	CreateTicket  = "create-ticket"
	TicketsRead   = "tickets:read"
	TicketsWrite  = "tickets:write"
	WorkflowRead  = "workflow:read"
	WorkflowWrite = "workflow:write"
	TokensManage  = "tokens:manage"
)

// Known lists every ability, for validation and help texts.
var Known = []string{CreateTicket, TicketsRead, TicketsWrite, WorkflowRead, WorkflowWrite, TokensManage}

// IsKnown reports whether a is an ability.
func IsKnown(a string) bool {
	for _, k := range Known {
		if a == k {
			return true
		}
	}
	return false
}

// Roles of console users.
const (
	RoleStaff = "staff"
	RoleAdmin = "admin"
)

// RoleAbilities are the abilities a console user signed in with a session
// holds: staff work tickets; admins may do everything. A session carries no
// token, so its abilities come from the role, and the same per-RPC policies
// then decide what the user may do.
func RoleAbilities(role string) []string {
	switch role {
	case RoleAdmin:
		return append([]string(nil), Known...)
	case RoleStaff:
		return []string{TicketsRead, TicketsWrite}
	}
	return nil
}

// SystemName is the author name of what a token without a user writes.
const SystemName = "Tickiti"

// Principal is who a request acts as.
type Principal struct {
	TokenID   int
	Abilities []string
	// UserID is nil for a token acting as the built-in system user.
	UserID    *int
	UserName  string
	UserEmail string
	Role      string
}

// Can reports whether the principal holds ability, directly or through the
// matching ":write".
func (p *Principal) Can(ability string) bool {
	for _, a := range p.Abilities {
		if a == ability {
			return true
		}
		if read, ok := strings.CutSuffix(ability, ":read"); ok && a == read+":write" {
			return true
		}
	}
	return false
}

// IsAdmin reports whether the principal acts as an admin user.
func (p *Principal) IsAdmin() bool { return p.UserID != nil && p.Role == RoleAdmin }

// MayAdminister reports whether the principal may change settings: an admin
// user, or a token without a user (an operator's, from the command line).
func (p *Principal) MayAdminister() bool { return p.UserID == nil || p.Role == RoleAdmin }

// AuthorName is the display name of what the principal writes.
func (p *Principal) AuthorName() string {
	if p.UserID == nil {
		return SystemName
	}
	return p.UserName
}

type ctxKey struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the principal in ctx, or nil.
func From(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}

// NewSecret returns a random secret of 40 letters and digits (about 238 bits).
func NewSecret() string { return randomString(40) }

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomString(n int) string {
	b := make([]byte, n)
	// Rejection sampling keeps every letter equally likely.
	buf := make([]byte, 1)
	for i := 0; i < n; {
		if _, err := rand.Read(buf); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		if c := buf[0]; int(c) < 256-256%len(alphabet) {
			b[i] = alphabet[int(c)%len(alphabet)]
			i++
		}
	}
	return string(b)
}

// Hash is what is stored of a secret.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Matches compares a presented secret with a stored hash in constant time.
func Matches(secret string, hash []byte) bool {
	return subtle.ConstantTimeCompare(Hash(secret), hash) == 1
}

// Format joins a token id and secret the way callers present them.
func Format(id int, secret string) string { return strconv.Itoa(id) + "|" + secret }

// Parse splits "Bearer <id>|<secret>" (or the bare token). ok is false when
// the text cannot be a token.
func Parse(authorization string) (id int, secret string, ok bool) {
	token := authorization
	if scheme, rest, found := strings.Cut(authorization, " "); found {
		if !strings.EqualFold(scheme, "Bearer") {
			return 0, "", false
		}
		token = strings.TrimSpace(rest)
	}
	idText, secret, found := strings.Cut(token, "|")
	if !found || secret == "" {
		return 0, "", false
	}
	id, err := strconv.Atoi(idText)
	if err != nil || id <= 0 {
		return 0, "", false
	}
	return id, secret, true
}

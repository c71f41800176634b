// Package service is Tickiti's domain core. The gRPC services, the REST
// gateway (through gRPC), the CLI and the delivery dispatcher all call it;
// every business rule lives here once.
package service

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/apitoken"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/store"
)

// Options tune the service. Zero values take the defaults.
type Options struct {
	// IdempotencyTTL is how long an Idempotency-Key is remembered
	// (default 24 h).
	IdempotencyTTL time.Duration
	// Logger receives operational messages (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
}

// Service is the domain core.
type Service struct {
	db   *store.DB
	ttl  time.Duration
	log  *slog.Logger
	now  func() time.Time
	wake chan struct{}
}

// New returns the core working on db.
func New(db *store.DB, opts Options) *Service {
	s := &Service{db: db, ttl: opts.IdempotencyTTL, log: opts.Logger, now: opts.Now, wake: make(chan struct{}, 1)}
	if s.ttl <= 0 {
		s.ttl = 24 * time.Hour
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// DB is the database the core works on.
func (s *Service) DB() *store.DB { return s.db }

// Wake signals that a delivery became due; the dispatcher listens on it.
func (s *Service) Wake() <-chan struct{} { return s.wake }

func (s *Service) wakeDispatcher() {
	select {
	case s.wake <- struct{}{}:
	default: // already signalled
	}
}

// lastUsedEvery limits how often a token's last use is written, so that
// authentication does not add a write to every request.
const lastUsedEvery = time.Minute

// Authenticate resolves an Authorization header value ("Bearer <id>|<secret>")
// to the principal it acts as.
func (s *Service) Authenticate(ctx context.Context, authorization string) (*auth.Principal, error) {
	if authorization == "" {
		return nil, apierr.New(apierr.Unauthenticated, "Unauthenticated: send Authorization: Bearer <token>.")
	}
	id, secret, ok := auth.Parse(authorization)
	if !ok {
		return nil, apierr.New(apierr.Unauthenticated, "Unauthenticated: the bearer token is malformed.")
	}
	tok, err := s.db.APIToken.Query().Where(apitoken.ID(id)).WithUser().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.Unauthenticated, "Unauthenticated: unknown token.")
	}
	if err != nil {
		return nil, s.internal("look up token", err)
	}
	// Check the secret before anything else about the token, so a caller
	// without it learns nothing (not even that the token is revoked).
	if !auth.Matches(secret, tok.SecretHash) {
		return nil, apierr.New(apierr.Unauthenticated, "Unauthenticated: unknown token.")
	}
	if tok.RevokedAt != nil {
		return nil, apierr.New(apierr.Unauthenticated, "Unauthenticated: the token was revoked.")
	}
	p := &auth.Principal{TokenID: tok.ID, Abilities: tok.Abilities}
	if u := tok.Edges.User; u != nil {
		if !u.Active {
			return nil, apierr.New(apierr.Unauthenticated, "Unauthenticated: the token's user is deactivated.")
		}
		p.UserID, p.UserName, p.UserEmail, p.Role = &u.ID, u.Name, u.Email, string(u.Role)
	}
	if now := s.now(); tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) > lastUsedEvery {
		if err := s.db.APIToken.UpdateOneID(tok.ID).SetLastUsedAt(now).Exec(ctx); err != nil {
			s.log.Warn("record token use", "token", tok.ID, "err", err)
		}
	}
	return p, nil
}

// internal logs err and returns an opaque error for the caller.
func (s *Service) internal(what string, err error) error {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return apierr.New(apierr.Unavailable, "The request was cancelled or timed out.")
	}
	// PostgreSQL refuses text SQLite stores: a NUL character or invalid
	// UTF-8 (22021), \u0000 in jsonb (22P05). The request is at fault, not
	// the server.
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) && (pg.SQLState() == "22021" || pg.SQLState() == "22P05") {
		return apierr.New(apierr.ValidationFailed, "The given data was invalid: text must be valid UTF-8 without the NUL character (\\u0000).")
	}
	s.log.Error(what, "err", err)
	return apierr.New(apierr.Internal, "Internal error.")
}

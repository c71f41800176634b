package service

import (
	"context"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/schema"
	"github.com/tickiti/tickiti/ent/session"
	"github.com/tickiti/tickiti/ent/user"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
)

// Console sessions: a signed-in user stays signed in while active, up to
// SessionIdle without a request and SessionMax in all.
const (
	SessionIdle = 12 * time.Hour
	SessionMax  = 7 * 24 * time.Hour
	// sessionTouchEvery limits how often a session's last use is written.
	sessionTouchEvery = time.Minute
)

// Password length limits: long enough to resist guessing, short enough
// that hashing one is cheap. Counted in characters.
const (
	MinPassword = 8
	MaxPassword = 256
)

// CheckPassword returns what is wrong with a new password, or nil.
func CheckPassword(password string) error {
	switch n := utf8.RuneCountInString(password); {
	case n < MinPassword:
		return apierr.Invalid("password", "The password must be at least %d characters.", MinPassword)
	case n > MaxPassword:
		return apierr.Invalid("password", "The password must not be greater than %d characters.", MaxPassword)
	}
	return nil
}

// errBadCredentials says the same for an unknown address and a wrong
// password, so sign-in does not tell which addresses have accounts.
var errBadCredentials = apierr.New(apierr.Unauthenticated, "These credentials do not match our records.")

// SetPassword sets the console password of the user with email. The user's
// sessions end: a password change signs them out everywhere. The change is
// audited (never the password or its hash) as the principal in ctx
// (auth.With; the console's signed-in admin), or as the command line when
// there is none.
func (s *Service) SetPassword(ctx context.Context, email, password string) error {
	email = normalEmail(email)
	if err := CheckPassword(password); err != nil {
		return err
	}
	hash := auth.HashPassword(password)
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		u, err := tx.User.Query().Where(user.Email(email)).Only(ctx)
		if ent.IsNotFound(err) {
			return apierr.Invalid("email", "There is no user with the email %s.", email)
		}
		if err != nil {
			return err
		}
		if err := tx.User.UpdateOne(u).SetPasswordHash(hash).Exec(ctx); err != nil {
			return err
		}
		if err := endSessions(ctx, tx, u.ID); err != nil {
			return err
		}
		return audit(ctx, tx, auth.From(ctx), auditUser, email, "set_password",
			schema.AuditChange{Field: "password", Old: redacted(u.PasswordHash), New: Redacted})
	})
	if err != nil {
		return s.internal("set password", err)
	}
	return nil
}

// dummyHash is checked against when no user matches, so a sign-in takes as
// long for an unknown address as for a wrong password.
var dummyHash = sync.OnceValue(func() string { return auth.HashPassword("not a password of anyone") })

// SignIn checks an email and password and starts a console session. It
// returns the session token for the browser's cookie (only its hash is
// stored) and the principal the session acts as.
func (s *Service) SignIn(ctx context.Context, email, password string) (string, *auth.Principal, error) {
	email = normalEmail(email)
	if email == "" || password == "" || utf8.RuneCountInString(password) > MaxPassword {
		return "", nil, errBadCredentials
	}
	u, err := s.db.User.Query().Where(user.Email(email)).Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return "", nil, s.internal("look up user", err)
	}
	if u == nil || u.PasswordHash == "" {
		auth.CheckPassword(password, dummyHash())
		return "", nil, errBadCredentials
	}
	if !auth.CheckPassword(password, u.PasswordHash) {
		return "", nil, errBadCredentials
	}
	if !u.Active {
		return "", nil, apierr.New(apierr.Unauthenticated, "Your account is deactivated; ask an administrator.")
	}
	token := auth.NewSecret()
	now := s.now()
	err = s.db.Session.Create().SetTokenHash(auth.Hash(token)).SetUserID(u.ID).
		SetCreatedAt(now).SetLastSeenAt(now).SetExpiresAt(now.Add(SessionIdle)).Exec(ctx)
	if err != nil {
		return "", nil, s.internal("create session", err)
	}
	return token, sessionPrincipal(u), nil
}

// Session returns the principal of a live session: not signed out, not
// expired, its user still active. It keeps the session alive.
func (s *Service) Session(ctx context.Context, token string) (*auth.Principal, error) {
	if token == "" {
		return nil, apierr.New(apierr.Unauthenticated, "Please sign in.")
	}
	sess, err := s.db.Session.Query().Where(session.TokenHash(auth.Hash(token))).WithUser().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.Unauthenticated, "Your session has ended; please sign in again.")
	}
	if err != nil {
		return nil, s.internal("look up session", err)
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) {
		return nil, apierr.New(apierr.Unauthenticated, "Your session has expired; please sign in again.")
	}
	u := sess.Edges.User
	if !u.Active {
		// Gone for good: reactivating the user must not revive it.
		if err := s.db.Session.DeleteOneID(sess.ID).Exec(ctx); err != nil {
			s.log.Warn("end session of deactivated user", "session", sess.ID, "err", err)
		}
		return nil, apierr.New(apierr.Unauthenticated, "Your account is deactivated; ask an administrator.")
	}
	if now.Sub(sess.LastSeenAt) > sessionTouchEvery {
		expires := now.Add(SessionIdle)
		if limit := sess.CreatedAt.Add(SessionMax); expires.After(limit) {
			expires = limit
		}
		if err := s.db.Session.UpdateOneID(sess.ID).SetLastSeenAt(now).SetExpiresAt(expires).Exec(ctx); err != nil {
			s.log.Warn("record session use", "session", sess.ID, "err", err)
		}
	}
	return sessionPrincipal(u), nil
}

// sessionPrincipal is who a console session acts as: its user, with the
// abilities of the user's role.
func sessionPrincipal(u *ent.User) *auth.Principal {
	id := u.ID
	return &auth.Principal{
		Abilities: auth.RoleAbilities(string(u.Role)),
		UserID:    &id, UserName: u.Name, UserEmail: u.Email, Role: string(u.Role),
	}
}

// SignOut ends a session. Ending one that has already ended is not an error.
func (s *Service) SignOut(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	if _, err := s.db.Session.Delete().Where(session.TokenHash(auth.Hash(token))).Exec(ctx); err != nil {
		return s.internal("end session", err)
	}
	return nil
}

// PurgeExpiredSessions deletes sessions past their expiry.
func (s *Service) PurgeExpiredSessions(ctx context.Context) (int, error) {
	return s.db.Session.Delete().Where(session.ExpiresAtLTE(s.now())).Exec(ctx)
}

// HasConsoleUser reports whether an active user can sign in to the console
// (has a password).
func (s *Service) HasConsoleUser(ctx context.Context) (bool, error) {
	return s.db.User.Query().Where(user.Active(true), user.PasswordHashNEQ("")).Exist(ctx)
}

// endSessions signs a user out everywhere, so that a deactivated user's
// console sessions end with the deactivation rather than at their next use
// (which a later reactivation would otherwise revive).
func endSessions(ctx context.Context, tx *ent.Tx, userID int) error {
	_, err := tx.Session.Delete().Where(session.UserID(userID)).Exec(ctx)
	return err
}

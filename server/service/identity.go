package service

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/apitoken"
	"github.com/tickiti/tickiti/ent/schema"
	"github.com/tickiti/tickiti/ent/user"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/uifield"
)

// Users and API tokens. Every change takes p, the principal making it (nil
// for the command line), and is recorded in the audit log in the same
// transaction, so a change and its record land together or not at all.

// Roles a user can have.
var Roles = []string{string(user.RoleStaff), string(user.RoleAdmin)}

// maxDescription bounds a token description: it is a label, not a document.
const maxDescription = 255

// Audit resources of this file.
const (
	auditUser  = "user"
	auditToken = "token"
)

func checkUserName(v *apierr.Validation, name string) {
	switch {
	case name == "":
		v.Add("name", "The name field is required.")
	case utf8.RuneCountInString(name) > 255:
		v.Add("name", "The name field must not be greater than 255 characters.")
	}
}

func checkRole(v *apierr.Validation, role string) {
	if !slices.Contains(Roles, role) {
		v.Add("role", "The role must be one of: %s.", strings.Join(Roles, ", "))
	}
}

// normalEmail is an address as it is stored and looked up: users and
// contacts that differ only in case are the same.
func normalEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateUser adds a staff member or an administrator; an empty role is
// staff. The email is lowercased, so addresses that differ only in case are
// the same user.
func (s *Service) CreateUser(ctx context.Context, p *auth.Principal, email, name, role string) (*ent.User, error) {
	email = normalEmail(email)
	name = strings.TrimSpace(name)
	if role == "" {
		role = string(user.RoleStaff)
	}
	var v apierr.Validation
	switch {
	case email == "":
		v.Add("email", "The email field is required.")
	case !uifield.ValidEmail(email):
		v.Add("email", "The email field must be a valid email address, such as jane@example.com.")
	}
	checkUserName(&v, name)
	checkRole(&v, role)
	if err := v.Err(); err != nil {
		return nil, err
	}
	duplicate := apierr.Invalid("email", "A user with the email %s already exists.", email)
	var u *ent.User
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		exists, err := tx.User.Query().Where(user.Email(email)).Exist(ctx)
		if err != nil {
			return err
		}
		if exists {
			return duplicate
		}
		if u, err = tx.User.Create().SetEmail(email).SetName(name).SetRole(user.Role(role)).Save(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, p, auditUser, email, "create",
			schema.AuditChange{Field: "email", New: email}, schema.AuditChange{Field: "name", New: name},
			schema.AuditChange{Field: "role", New: role}, schema.AuditChange{Field: "active", New: true})
	})
	if ent.IsConstraintError(err) {
		// Created by someone else since the check above.
		return nil, duplicate
	}
	if err != nil {
		return nil, s.internal("create user", err)
	}
	return u, nil
}

// UserMessage is a user as the API shows it.
func UserMessage(u *ent.User) *v1.User {
	return &v1.User{
		Id: int64(u.ID), Email: u.Email, Name: u.Name, Role: string(u.Role), Active: u.Active,
		CreateTime: timestamppb.New(u.CreatedAt), UpdateTime: timestamppb.New(u.UpdatedAt),
	}
}

func userNotFound(id int64) error { return apierr.New(apierr.NotFound, "User %d not found.", id) }

// loadUser reads a user by id, as a not_found error when there is none.
func loadUser(ctx context.Context, c *ent.UserClient, id int64) (*ent.User, error) {
	if id <= 0 {
		return nil, userNotFound(id)
	}
	u, err := c.Get(ctx, int(id))
	if ent.IsNotFound(err) {
		return nil, userNotFound(id)
	}
	return u, err
}

// GetUser returns a user.
func (s *Service) GetUser(ctx context.Context, id int64) (*v1.User, error) {
	u, err := loadUser(ctx, s.db.User, id)
	if err != nil {
		return nil, s.internal("get user", err)
	}
	return UserMessage(u), nil
}

// UserByEmail returns the user with an email (in any case); the command
// line names users by email.
func (s *Service) UserByEmail(ctx context.Context, email string) (*v1.User, error) {
	email = normalEmail(email)
	u, err := s.db.User.Query().Where(user.Email(email)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.NotFound, "There is no user with the email %s.", email)
	}
	if err != nil {
		return nil, s.internal("look up user", err)
	}
	return UserMessage(u), nil
}

// ListUsers lists users by id, a page at a time (AIP-158).
func (s *Service) ListUsers(ctx context.Context, req *v1.ListUsersRequest) (*v1.ListUsersResponse, error) {
	page, err := ParsePage(req.GetPageSize(), req.GetPageToken(), "users")
	if err != nil {
		return nil, err
	}
	us, err := s.db.User.Query().Where(user.IDGT(page.After)).Order(ent.Asc(user.FieldID)).Limit(page.Size + 1).All(ctx)
	if err != nil {
		return nil, s.internal("list users", err)
	}
	out := &v1.ListUsersResponse{}
	us, out.NextPageToken = pageOf(page, us, func(u *ent.User) int { return u.ID })
	for _, u := range us {
		out.Users = append(out.Users, UserMessage(u))
	}
	return out, nil
}

// UpdateUser changes the fields of u named by mask (AIP-134): "name",
// "role", "active" or "*" for the three. An empty mask means the fields of u
// that are set. Output-only fields in the mask are ignored, and "email" is
// accepted only with the current email: users are named by it.
func (s *Service) UpdateUser(ctx context.Context, p *auth.Principal, u *v1.User, mask *fieldmaskpb.FieldMask) (*v1.User, error) {
	var setName, setRole, setActive, checkEmail bool
	paths := mask.GetPaths()
	if len(paths) == 0 {
		setName, setRole, setActive = u.GetName() != "", u.GetRole() != "", u.GetActive()
	}
	var v apierr.Validation
	for _, path := range paths {
		switch path {
		case "*":
			setName, setRole, setActive = true, true, true
		case "name":
			setName = true
		case "role":
			setRole = true
		case "active":
			setActive = true
		case "email":
			checkEmail = true
		case "id", "create_time", "update_time":
		default:
			v.Add("update_mask", "The update mask names the unknown field %q; the fields that can change are name, role and active.", path)
		}
	}
	name := strings.TrimSpace(u.GetName())
	if setName {
		checkUserName(&v, name)
	}
	if setRole {
		checkRole(&v, u.GetRole())
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *ent.User
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		old, err := loadUser(ctx, tx.User, u.GetId())
		if err != nil {
			return err
		}
		if checkEmail && normalEmail(u.GetEmail()) != old.Email {
			return apierr.Invalid("email", "The email of a user cannot change.")
		}
		var changes []schema.AuditChange
		upd := tx.User.UpdateOne(old)
		if setName {
			changes = changed(changes, "name", old.Name, name)
			upd.SetName(name)
		}
		if setRole {
			changes = changed(changes, "role", string(old.Role), u.GetRole())
			upd.SetRole(user.Role(u.GetRole()))
		}
		if setActive {
			changes = changed(changes, "active", old.Active, u.GetActive())
			upd.SetActive(u.GetActive())
			if old.Active && !u.GetActive() {
				if err := endSessions(ctx, tx, old.ID); err != nil {
					return err
				}
			}
		}
		if len(changes) == 0 {
			out = old // nothing changes, nothing to record
			return nil
		}
		if out, err = upd.Save(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, p, auditUser, old.Email, "update", changes...)
	})
	if err != nil {
		return nil, s.internal("update user", err)
	}
	return UserMessage(out), nil
}

// DeactivateUser makes a user inactive: their tokens stop working (see
// Authenticate) until the user is made active again.
func (s *Service) DeactivateUser(ctx context.Context, p *auth.Principal, id int64) (*v1.User, error) {
	var out *ent.User
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		old, err := loadUser(ctx, tx.User, id)
		if err != nil {
			return err
		}
		if !old.Active {
			out = old
			return nil
		}
		if out, err = tx.User.UpdateOne(old).SetActive(false).Save(ctx); err != nil {
			return err
		}
		if err := endSessions(ctx, tx, old.ID); err != nil {
			return err
		}
		return audit(ctx, tx, p, auditUser, old.Email, "deactivate", schema.AuditChange{Field: "active", Old: true, New: false})
	})
	if err != nil {
		return nil, s.internal("deactivate user", err)
	}
	return UserMessage(out), nil
}

// CreateToken issues an API token. The answer's PlainTextToken is the token
// as the caller presents it, "<id>|<secret>"; only a hash of the secret is
// stored, so this is the only time the token can be seen. Without userEmail
// the token acts as the built-in system user; with it, as that user, who
// must be active.
func (s *Service) CreateToken(ctx context.Context, p *auth.Principal, abilities []string, description, userEmail string) (*v1.Token, error) {
	var v apierr.Validation
	known := strings.Join(auth.Known, ", ")
	var abs []string
	for _, a := range abilities {
		a = strings.TrimSpace(a)
		switch {
		case !auth.IsKnown(a):
			v.Add("ability", "Unknown ability %q; the known abilities are: %s.", a, known)
		case !slices.Contains(abs, a):
			abs = append(abs, a)
		}
	}
	if len(abilities) == 0 {
		v.Add("ability", "At least one ability is required; the known abilities are: %s.", known)
	}
	description = strings.TrimSpace(description)
	if utf8.RuneCountInString(description) > maxDescription {
		v.Add("description", "The description must not be greater than %d characters.", maxDescription)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}

	secret := auth.NewSecret()
	var tok *ent.APIToken
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		var u *ent.User
		if email := normalEmail(userEmail); email != "" {
			var err error
			u, err = tx.User.Query().Where(user.Email(email)).Only(ctx)
			if ent.IsNotFound(err) {
				return apierr.Invalid("user", "There is no user with the email %s.", email)
			}
			if err != nil {
				return err
			}
			if !u.Active {
				return apierr.Invalid("user", "The user %s is deactivated.", email)
			}
		}
		create := tx.APIToken.Create().SetAbilities(abs).SetDescription(description).
			SetSecretHash(auth.Hash(secret)).SetCreatedAt(s.now())
		changes := []schema.AuditChange{{Field: "abilities", New: abs}, {Field: "description", New: description}}
		if u != nil {
			create.SetUser(u)
			changes = append(changes, schema.AuditChange{Field: "user", New: u.Email})
		}
		var err error
		if tok, err = create.Save(ctx); err != nil {
			return err
		}
		tok.Edges.User = u
		// The secret stays out of the record.
		return audit(ctx, tx, p, auditToken, strconv.Itoa(tok.ID), "create", changes...)
	})
	if err != nil {
		return nil, s.internal("create token", err)
	}
	m := TokenMessage(tok)
	m.PlainTextToken = auth.Format(tok.ID, secret)
	return m, nil
}

// TokenMessage is a token as the API shows it (never its secret); tok's
// user edge must be loaded.
func TokenMessage(tok *ent.APIToken) *v1.Token {
	m := &v1.Token{
		Id: int64(tok.ID), Description: tok.Description, Abilities: tok.Abilities,
		CreateTime: timestamppb.New(tok.CreatedAt), Revoked: tok.RevokedAt != nil,
	}
	if u := tok.Edges.User; u != nil {
		m.UserEmail = u.Email
	}
	if tok.LastUsedAt != nil {
		m.LastUseTime = timestamppb.New(*tok.LastUsedAt)
	}
	if tok.RevokedAt != nil {
		m.RevokeTime = timestamppb.New(*tok.RevokedAt)
	}
	return m
}

// loadToken reads a token and its user, as a not_found error when there is
// none.
func loadToken(ctx context.Context, c *ent.APITokenClient, id int64) (*ent.APIToken, error) {
	if id > 0 {
		tok, err := c.Query().Where(apitoken.ID(int(id))).WithUser().Only(ctx)
		if !ent.IsNotFound(err) {
			return tok, err
		}
	}
	return nil, apierr.New(apierr.NotFound, "Token %d not found.", id)
}

// GetToken returns a token.
func (s *Service) GetToken(ctx context.Context, id int64) (*v1.Token, error) {
	tok, err := loadToken(ctx, s.db.APIToken, id)
	if err != nil {
		return nil, s.internal("get token", err)
	}
	return TokenMessage(tok), nil
}

// ListTokens lists tokens by id, revoked ones included, a page at a time
// (AIP-158).
func (s *Service) ListTokens(ctx context.Context, req *v1.ListTokensRequest) (*v1.ListTokensResponse, error) {
	page, err := ParsePage(req.GetPageSize(), req.GetPageToken(), "tokens")
	if err != nil {
		return nil, err
	}
	toks, err := s.db.APIToken.Query().Where(apitoken.IDGT(page.After)).Order(ent.Asc(apitoken.FieldID)).
		Limit(page.Size + 1).WithUser().All(ctx)
	if err != nil {
		return nil, s.internal("list tokens", err)
	}
	out := &v1.ListTokensResponse{}
	toks, out.NextPageToken = pageOf(page, toks, func(t *ent.APIToken) int { return t.ID })
	for _, tok := range toks {
		out.Tokens = append(out.Tokens, TokenMessage(tok))
	}
	return out, nil
}

// RevokeToken revokes a token for good: Authenticate refuses it from the
// next request on. Revoking a revoked token changes nothing.
func (s *Service) RevokeToken(ctx context.Context, p *auth.Principal, id int64) (*v1.Token, error) {
	var tok *ent.APIToken
	err := s.db.Tx(ctx, func(tx *ent.Tx) error {
		var err error
		if tok, err = loadToken(ctx, tx.APIToken, id); err != nil || tok.RevokedAt != nil {
			return err
		}
		now := s.now()
		// Only a token not yet revoked is updated, so two revocations at
		// once record one event and keep the first time.
		n, err := tx.APIToken.Update().Where(apitoken.ID(tok.ID), apitoken.RevokedAtIsNil()).SetRevokedAt(now).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			tok, err = loadToken(ctx, tx.APIToken, id)
			return err
		}
		tok.RevokedAt = &now
		return audit(ctx, tx, p, auditToken, strconv.Itoa(tok.ID), "revoke", schema.AuditChange{Field: "revoked", Old: false, New: true})
	})
	if err != nil {
		return nil, s.internal("revoke token", err)
	}
	return TokenMessage(tok), nil
}

package service

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/user"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
)

// Roles a user can have.
var Roles = []string{string(user.RoleStaff), string(user.RoleAdmin)}

// maxDescription bounds a token description: it is a label, not a document.
const maxDescription = 255

// CreateUser adds a staff member or an administrator. The email is
// lowercased, so addresses that differ only in case are the same user.
func (s *Service) CreateUser(ctx context.Context, email, name, role string) (*ent.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	name = strings.TrimSpace(name)
	var v apierr.Validation
	switch {
	case email == "":
		v.Add("email", "The email field is required.")
	case !validEmail(email):
		v.Add("email", "The email field must be a valid email address, such as jane@example.com.")
	}
	switch {
	case name == "":
		v.Add("name", "The name field is required.")
	case utf8.RuneCountInString(name) > 255:
		v.Add("name", "The name field must not be greater than 255 characters.")
	}
	if !slices.Contains(Roles, role) {
		v.Add("role", "The role must be one of: %s.", strings.Join(Roles, ", "))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	exists, err := s.db.User.Query().Where(user.Email(email)).Exist(ctx)
	if err != nil {
		return nil, s.internal("look up user", err)
	}
	if exists {
		return nil, apierr.Invalid("email", "A user with the email %s already exists.", email)
	}
	u, err := s.db.User.Create().SetEmail(email).SetName(name).SetRole(user.Role(role)).Save(ctx)
	if ent.IsConstraintError(err) {
		// Created by someone else since the check above.
		return nil, apierr.Invalid("email", "A user with the email %s already exists.", email)
	}
	if err != nil {
		return nil, s.internal("create user", err)
	}
	return u, nil
}

// CreateToken issues an API token and returns it as the caller presents it,
// "<id>|<secret>". Only a hash of the secret is stored, so this is the only
// time the token can be seen. Without userEmail the token acts as the
// built-in system user; with it, as that user, who must be active.
func (s *Service) CreateToken(ctx context.Context, abilities []string, description, userEmail string) (string, error) {
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
		return "", err
	}

	var userID *int
	if email := strings.ToLower(strings.TrimSpace(userEmail)); email != "" {
		u, err := s.db.User.Query().Where(user.Email(email)).Only(ctx)
		if ent.IsNotFound(err) {
			return "", apierr.Invalid("user", "There is no user with the email %s.", email)
		}
		if err != nil {
			return "", s.internal("look up user", err)
		}
		if !u.Active {
			return "", apierr.Invalid("user", "The user %s is deactivated.", email)
		}
		userID = &u.ID
	}

	secret := auth.NewSecret()
	tok, err := s.db.APIToken.Create().SetAbilities(abs).SetDescription(description).
		SetSecretHash(auth.Hash(secret)).SetCreatedAt(s.now()).SetNillableUserID(userID).Save(ctx)
	if err != nil {
		return "", s.internal("create token", err)
	}
	return auth.Format(tok.ID, secret), nil
}

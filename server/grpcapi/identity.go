package grpcapi

import (
	"context"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/service"
)

// Identity implements tickiti.v1.TokenService, UserService and AuditService
// on the service core.
type Identity struct {
	v1.UnimplementedTokenServiceServer
	v1.UnimplementedUserServiceServer
	v1.UnimplementedAuditServiceServer
	svc *service.Service
}

// NewIdentity returns the token, user and audit services.
func NewIdentity(svc *service.Service) *Identity { return &Identity{svc: svc} }

// CreateToken issues a token; the answer carries it once.
func (i *Identity) CreateToken(ctx context.Context, req *v1.CreateTokenRequest) (*v1.Token, error) {
	t := req.GetToken()
	tok, err := i.svc.CreateToken(ctx, auth.From(ctx), t.GetAbilities(), t.GetDescription(), t.GetUserEmail())
	if err != nil {
		return nil, err
	}
	return tok, answerCreated(ctx)
}

// GetToken returns a token.
func (i *Identity) GetToken(ctx context.Context, req *v1.GetTokenRequest) (*v1.Token, error) {
	return i.svc.GetToken(ctx, req.GetId())
}

// ListTokens lists tokens.
func (i *Identity) ListTokens(ctx context.Context, req *v1.ListTokensRequest) (*v1.ListTokensResponse, error) {
	return i.svc.ListTokens(ctx, req)
}

// RevokeToken revokes a token.
func (i *Identity) RevokeToken(ctx context.Context, req *v1.RevokeTokenRequest) (*v1.Token, error) {
	return i.svc.RevokeToken(ctx, auth.From(ctx), req.GetId())
}

// CreateUser adds a user.
func (i *Identity) CreateUser(ctx context.Context, req *v1.CreateUserRequest) (*v1.User, error) {
	u := req.GetUser()
	created, err := i.svc.CreateUser(ctx, auth.From(ctx), u.GetEmail(), u.GetName(), u.GetRole())
	if err != nil {
		return nil, err
	}
	return service.UserMessage(created), answerCreated(ctx)
}

// GetUser returns a user.
func (i *Identity) GetUser(ctx context.Context, req *v1.GetUserRequest) (*v1.User, error) {
	return i.svc.GetUser(ctx, req.GetId())
}

// ListUsers lists users.
func (i *Identity) ListUsers(ctx context.Context, req *v1.ListUsersRequest) (*v1.ListUsersResponse, error) {
	return i.svc.ListUsers(ctx, req)
}

// UpdateUser changes the fields of a user named by the update mask.
func (i *Identity) UpdateUser(ctx context.Context, req *v1.UpdateUserRequest) (*v1.User, error) {
	return i.svc.UpdateUser(ctx, auth.From(ctx), req.GetUser(), req.GetUpdateMask())
}

// DeactivateUser deactivates a user.
func (i *Identity) DeactivateUser(ctx context.Context, req *v1.DeactivateUserRequest) (*v1.User, error) {
	return i.svc.DeactivateUser(ctx, auth.From(ctx), req.GetId())
}

// ListAuditEvents lists the audit log.
func (i *Identity) ListAuditEvents(ctx context.Context, req *v1.ListAuditEventsRequest) (*v1.ListAuditEventsResponse, error) {
	return i.svc.ListAuditEvents(ctx, req)
}

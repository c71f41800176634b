// Package grpcapi is the gRPC door onto the service core: thin handlers that
// translate messages, and one interceptor that authenticates every call and
// enforces the access policy declared on each method in the protos.
package grpcapi

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
)

// Authenticator resolves an Authorization value to a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, authorization string) (*auth.Principal, error)
}

// policies reads the (tickiti.v1.policy) option of every method of the
// services, keyed by full method name ("/tickiti.v1.TicketService/GetTicket").
func policies(services ...grpc.ServiceDesc) (map[string]*v1.Policy, error) {
	out := map[string]*v1.Policy{}
	for _, sd := range services {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(sd.ServiceName))
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", sd.ServiceName, err)
		}
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		for i := range methods.Len() {
			full := "/" + sd.ServiceName + "/" + string(methods.Get(i).Name())
			p, err := policyOf(full)
			if err != nil {
				return nil, err
			}
			out[full] = p
		}
	}
	return out, nil
}

// authorize authenticates the call and checks the method's policy; it
// returns ctx carrying the principal.
func authorize(ctx context.Context, a Authenticator, pol map[string]*v1.Policy, method string) (context.Context, error) {
	p, ok := pol[method]
	if !ok {
		// Reflection and health have no policy of ours and are public.
		if strings.HasPrefix(method, "/grpc.") {
			return ctx, nil
		}
		return nil, apierr.New(apierr.Forbidden, "Method %s has no access policy.", method)
	}
	if p.GetPublic() {
		return ctx, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	principal, err := a.Authenticate(ctx, first(md, "authorization"))
	if err != nil {
		return nil, err
	}
	if err := check(principal, p); err != nil {
		return nil, err
	}
	return auth.With(ctx, principal), nil
}

// check applies a method's policy to an authenticated principal.
func check(principal *auth.Principal, p *v1.Policy) error {
	if ab := p.GetAbility(); ab != "" && !principal.Can(ab) {
		return apierr.New(apierr.Forbidden, "This action is unauthorized: the token lacks the ability %q.", ab)
	}
	if p.GetAdmin() && !principal.MayAdminister() {
		return apierr.New(apierr.Forbidden, "This action is unauthorized: the token's user is not an admin.")
	}
	return nil
}

// Authorize checks whether an already authenticated principal may do what
// the RPC fullMethod ("/tickiti.v1.TicketService/GetTicket") does, by the
// same policy the interceptor enforces on that RPC. Other doors onto the
// service core (the staff console) call it for each action, so one rule
// decides for every door. A method without a policy is refused.
func Authorize(principal *auth.Principal, fullMethod string) error {
	p, err := policyOf(fullMethod)
	if err != nil {
		return apierr.New(apierr.Forbidden, "Method %s has no access policy.", fullMethod)
	}
	if p.GetPublic() {
		return nil
	}
	if principal == nil {
		return apierr.New(apierr.Unauthenticated, "Unauthenticated.")
	}
	return check(principal, p)
}

// policyOf reads the policy option of one method from the registered
// protos, the same source Interceptors reads.
func policyOf(fullMethod string) (*v1.Policy, error) {
	svc, method, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if !ok {
		return nil, fmt.Errorf("malformed method %q", fullMethod)
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return nil, err
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a service", svc)
	}
	m := sd.Methods().ByName(protoreflect.Name(method))
	if m == nil {
		return nil, fmt.Errorf("no method %s", fullMethod)
	}
	p, _ := proto.GetExtension(m.Options(), v1.E_Policy).(*v1.Policy)
	if p == nil || (p.GetAbility() == "" && !p.GetPublic()) {
		return nil, fmt.Errorf("method %s has no access policy", fullMethod)
	}
	return p, nil
}

// Interceptors returns the unary and stream interceptors that enforce the
// policies of services.
func Interceptors(a Authenticator, services ...grpc.ServiceDesc) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor, error) {
	pol, err := policies(services...)
	if err != nil {
		return nil, nil, err
	}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		ctx, err := authorize(ctx, a, pol, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		ctx, err := authorize(ss.Context(), a, pol, info.FullMethod)
		if err != nil {
			return err
		}
		return h(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
	}
	return unary, stream, nil
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

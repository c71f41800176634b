package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/tickiti/tickiti/ent"
	"github.com/tickiti/tickiti/ent/delivery"
	"github.com/tickiti/tickiti/ent/payload"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/service"
)

// The access matrix. TestAccessMatrix asks the running server (gRPC
// reflection) which services it serves and walks every method of each, as
// the proto descriptors declare them, so a method added later is covered
// without editing the test, except for one line: the request builder in
// mxCases that the 2xx leg needs. A method without one fails the test.
//
// For every method and every REST route of it (google.api.http and its
// additional bindings):
//   - no token: 401 (gRPC UNAUTHENTICATED), over REST and gRPC;
//   - a token holding every ability except the method's (and except the
//     ":write" that implies it): 403 (PERMISSION_DENIED), over REST and gRPC;
//   - on admin methods, a token with every ability acting as a staff user:
//     403, over REST and gRPC;
//   - the right token, holding the method's ability alone and acting as an
//     admin user (admin methods) or a staff user (the others): 2xx with a
//     valid request, over REST (the route the REST door documents first).

// mxCase builds a valid request for one method, as the protojson of its
// request message. It runs right before the call and may create what the
// call needs (through e), so that calls with side effects (revoke, delete)
// work on their own objects. header adds REST headers.
type mxCase struct {
	req    func(t *testing.T, e *mxEnv) string
	header func(e *mxEnv) map[string]string
}

// mxCases has one entry per RPC, by full method name. JSON rather than Go
// messages keeps the table free of compile-time ties to generated types.
var mxCases = map[string]mxCase{
	// TicketService
	"/tickiti.v1.TicketService/CreateTicket": {
		req: func(t *testing.T, e *mxEnv) string {
			return fmt.Sprintf(`{"originator_email_address": "customer@example.com", "intervention": "discount_request",
				"uid": "matrix-%d", "data": {"data": {"currency": "GBP", "order_price": 100, "accept": false}}}`, e.next())
		},
		header: func(e *mxEnv) map[string]string {
			return map[string]string{"Idempotency-Key": fmt.Sprintf("matrix-key-%d", e.next())}
		},
	},
	"/tickiti.v1.TicketService/GetTicket": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"ticket_number": %d}`, e.ticket(t))
	}},
	"/tickiti.v1.TicketService/ListTickets": {req: mxEmpty},
	"/tickiti.v1.TicketService/SubmitIntervention": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"ticket_number": %d, "data": {"order_price": 95, "accept": true}}`, e.ticket(t))
	}},
	// DeliveryService
	"/tickiti.v1.DeliveryService/ListTicketDeliveries": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"ticket_number": %d}`, e.ticket(t))
	}},
	"/tickiti.v1.DeliveryService/ListDeliveries": {req: mxEmpty},
	"/tickiti.v1.DeliveryService/RedeliverDelivery": {req: func(t *testing.T, e *mxEnv) string {
		number, id := e.failedDelivery(t)
		return fmt.Sprintf(`{"ticket_number": %d, "id": %d}`, number, id)
	}},
	// TokenService
	"/tickiti.v1.TokenService/CreateToken": {req: func(t *testing.T, e *mxEnv) string {
		return `{"token": {"abilities": ["tickets:read"], "description": "matrix"}}`
	}},
	"/tickiti.v1.TokenService/GetToken": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"id": %d}`, e.tokenID(t))
	}},
	"/tickiti.v1.TokenService/ListTokens": {req: mxEmpty},
	"/tickiti.v1.TokenService/RevokeToken": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"id": %d}`, e.tokenID(t))
	}},
	// UserService
	"/tickiti.v1.UserService/CreateUser": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"user": {"email": "matrix-%d@example.com", "name": "Matrix"}}`, e.next())
	}},
	"/tickiti.v1.UserService/GetUser": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"id": %d}`, e.userID(t))
	}},
	"/tickiti.v1.UserService/ListUsers": {req: mxEmpty},
	"/tickiti.v1.UserService/UpdateUser": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"user": {"id": %d, "name": "Renamed"}}`, e.userID(t))
	}},
	"/tickiti.v1.UserService/DeactivateUser": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"id": %d}`, e.userID(t))
	}},
	// AuditService
	"/tickiti.v1.AuditService/ListAuditEvents": {req: mxEmpty},
	// InterventionService
	"/tickiti.v1.InterventionService/GetIntervention": {req: func(t *testing.T, e *mxEnv) string {
		return `{"name": "discount_request"}`
	}},
	"/tickiti.v1.InterventionService/ListInterventions": {req: mxEmpty},
	"/tickiti.v1.InterventionService/CreateIntervention": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"intervention": {"name": "matrix_%d", "title": "Matrix", "queue": "Inbox"}}`, e.next())
	}},
	"/tickiti.v1.InterventionService/UpdateIntervention": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"intervention": {"name": %q, "title": "Retitled"}}`, e.intervention(t, false))
	}},
	"/tickiti.v1.InterventionService/DeleteIntervention": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"name": %q}`, e.intervention(t, false))
	}},
	"/tickiti.v1.InterventionService/EnableIntervention": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"name": %q}`, e.intervention(t, true))
	}},
	"/tickiti.v1.InterventionService/DisableIntervention": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"name": %q}`, e.intervention(t, false))
	}},
	"/tickiti.v1.InterventionService/RotateRemoteToken": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"name": %q}`, e.intervention(t, false))
	}},
	"/tickiti.v1.InterventionService/RotateSigningSecret": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"name": %q, "overlap": "3600s"}`, e.intervention(t, false))
	}},
	// TemplateService
	"/tickiti.v1.TemplateService/GetTemplate": {req: func(t *testing.T, e *mxEnv) string {
		return `{"identifier": "discount_request.private"}`
	}},
	"/tickiti.v1.TemplateService/ListTemplates": {req: mxEmpty},
	"/tickiti.v1.TemplateService/CreateTemplate": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"template": {"identifier": "%s.public", "body": "Thanks {{uid}}."}}`, e.intervention(t, false))
	}},
	"/tickiti.v1.TemplateService/UpdateTemplate": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"template": {"identifier": "%s.private", "body": "Changed {{uid}}."}}`, e.intervention(t, true))
	}},
	"/tickiti.v1.TemplateService/DeleteTemplate": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"identifier": "%s.private"}`, e.intervention(t, true))
	}},
	"/tickiti.v1.TemplateService/RenderTemplate": {req: func(t *testing.T, e *mxEnv) string {
		return `{"identifier": "discount_request.private", "data": {"uid": "u-1", "order_price": 5, "currency": "EUR"}}`
	}},
	// QueueService
	"/tickiti.v1.QueueService/GetQueue": {req: func(t *testing.T, e *mxEnv) string {
		return `{"name": "Inbox"}`
	}},
	"/tickiti.v1.QueueService/ListQueues": {req: mxEmpty},
	"/tickiti.v1.QueueService/CreateQueue": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"queue": {"name": "Matrix %d"}}`, e.next())
	}},
	"/tickiti.v1.QueueService/UpdateQueue": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"name": %q, "queue": {"name": "Matrix renamed %d"}}`, e.queue(t), e.next())
	}},
	"/tickiti.v1.QueueService/DeleteQueue": {req: func(t *testing.T, e *mxEnv) string {
		return fmt.Sprintf(`{"name": %q}`, e.queue(t))
	}},
}

func mxEmpty(*testing.T, *mxEnv) string { return `{}` }

// mxEnv is the fixture the request builders create their objects in. Its
// setup token is an operator's with every ability, so the builders' own
// calls pass every policy.
type mxEnv struct {
	f     *fixture
	setup string
	seq   atomic.Int64
}

func (e *mxEnv) next() int64 { return e.seq.Add(1) }

// call makes a setup call over REST and decodes the data of its answer
// into out (when not nil).
func (e *mxEnv) call(t *testing.T, method, path, body string, out any) {
	t.Helper()
	code, _, b := do(t, method, e.f.srv.base+path, e.setup, nil, body)
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if code < 200 || code > 299 || json.Unmarshal(b, &env) != nil {
		t.Fatalf("setup %s %s: %d %s", method, path, code, b)
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			t.Fatalf("setup %s %s: %v", method, path, err)
		}
	}
}

// ticket opens a ticket of the seed intervention and returns its number.
func (e *mxEnv) ticket(t *testing.T) int64 {
	t.Helper()
	code, _, body := e.f.createTicket(t, fmt.Sprintf("mx-setup-%d", e.next()),
		fmt.Sprintf(`{"originator_email_address": "customer@example.com", "intervention": "discount_request",
			"uid": "mx-setup-%d", "data": {"data": {"currency": "GBP", "order_price": 100, "accept": false}}}`, e.next()))
	var v struct {
		Data struct {
			TicketNumber int64 `json:"ticket_number"`
		} `json:"data"`
	}
	if code != http.StatusCreated || json.Unmarshal(body, &v) != nil {
		t.Fatalf("setup create_ticket: %d %s", code, body)
	}
	return v.Data.TicketNumber
}

// failedDelivery submits a decision on a new ticket; the fixture's remote
// answers 401, so its delivery fails at once. It returns the ticket number
// and the delivery id.
func (e *mxEnv) failedDelivery(t *testing.T) (int64, int64) {
	t.Helper()
	number := e.ticket(t)
	code, _, body := do(t, "POST", e.f.srv.base+"/api/v1/tickets/"+itoa(number)+"/intervention:submit", e.f.staffToken, nil,
		`{"data": {"order_price": 95, "accept": true}}`)
	if code != http.StatusOK {
		t.Fatalf("setup submit: %d %s", code, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, err := e.f.db.Delivery.Query().Where(delivery.StateEQ(delivery.StateFailed),
			delivery.HasPayloadWith(payload.TicketID(int(number-service.NumberOffset)))).First(context.Background())
		if err == nil {
			return number, int64(d.ID)
		}
		if !ent.IsNotFound(err) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("setup: the delivery of ticket %d did not fail", number)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tokenID creates an operator token and returns its id.
func (e *mxEnv) tokenID(t *testing.T) int64 {
	var tok tokenView
	e.call(t, "POST", "/api/v1/tokens", `{"abilities": ["tickets:read"]}`, &tok)
	return tok.ID
}

// userID creates a staff user and returns their id.
func (e *mxEnv) userID(t *testing.T) int64 {
	var u userView
	e.call(t, "POST", "/api/v1/users", fmt.Sprintf(`{"email": "mx-user-%d@example.com", "name": "Setup"}`, e.next()), &u)
	return u.ID
}

// intervention creates a disabled intervention (with its .private template
// when private) and returns its name.
func (e *mxEnv) intervention(t *testing.T, private bool) string {
	name := fmt.Sprintf("mx_setup_%d", e.next())
	e.call(t, "POST", "/api/v1/interventions", fmt.Sprintf(`{"name": %q, "title": "Setup", "queue": "Inbox"}`, name), nil)
	if private {
		e.call(t, "POST", "/api/v1/templates", fmt.Sprintf(`{"identifier": "%s.private", "body": "Setup {{uid}}"}`, name), nil)
	}
	return name
}

// queue creates an empty queue and returns its name.
func (e *mxEnv) queue(t *testing.T) string {
	name := fmt.Sprintf("Matrix setup %d", e.next())
	e.call(t, "POST", "/api/v1/queues", fmt.Sprintf(`{"name": %q}`, name), nil)
	return name
}

// mxMethod is one RPC as its descriptor declares it.
type mxMethod struct {
	full   string // "/tickiti.v1.TokenService/ListTokens"
	desc   protoreflect.MethodDescriptor
	policy *v1.Policy
	routes []mxRoute
}

type mxRoute struct {
	verb, pattern, body string
}

// servedMethods lists the methods of every tickiti service the server
// serves, read through gRPC reflection; it fails the test on a method
// without a policy or a REST route, and on a tickiti service that is
// declared in the protos but not served.
func servedMethods(t *testing.T, conn *grpc.ClientConn) []mxMethod {
	t.Helper()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	var served []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		if strings.HasPrefix(s.GetName(), "tickiti.") {
			served = append(served, s.GetName())
		}
	}
	// Every service the protos declare is served (a service registered
	// nowhere would escape the matrix).
	protoregistry.GlobalFiles.RangeFilesByPackage("tickiti.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			if name := string(fd.Services().Get(i).FullName()); !slices.Contains(served, name) {
				t.Errorf("service %s is declared in %s but not served", name, fd.Path())
			}
		}
		return true
	})

	var out []mxMethod
	for _, name := range served {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			t.Errorf("served service %s has no descriptor: %v", name, err)
			continue
		}
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		for i := range methods.Len() {
			md := methods.Get(i)
			m := mxMethod{full: "/" + name + "/" + string(md.Name()), desc: md}
			m.policy, _ = proto.GetExtension(md.Options(), v1.E_Policy).(*v1.Policy)
			if m.policy == nil {
				t.Errorf("%s has no (tickiti.v1.policy)", m.full)
				continue
			}
			rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
			if rule == nil {
				t.Errorf("%s has no google.api.http rule", m.full)
				continue
			}
			for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
				m.routes = append(m.routes, mxRouteOf(r))
			}
			out = append(out, m)
		}
	}
	return out
}

func mxRouteOf(r *annotations.HttpRule) mxRoute {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return mxRoute{"GET", p.Get, r.GetBody()}
	case *annotations.HttpRule_Post:
		return mxRoute{"POST", p.Post, r.GetBody()}
	case *annotations.HttpRule_Put:
		return mxRoute{"PUT", p.Put, r.GetBody()}
	case *annotations.HttpRule_Patch:
		return mxRoute{"PATCH", p.Patch, r.GetBody()}
	case *annotations.HttpRule_Delete:
		return mxRoute{"DELETE", p.Delete, r.GetBody()}
	case *annotations.HttpRule_Custom:
		return mxRoute{p.Custom.GetKind(), p.Custom.GetPath(), r.GetBody()}
	}
	return mxRoute{}
}

var mxPathVar = regexp.MustCompile(`\{([^}=]+)(=[^}]*)?\}`)

// request turns a request message into a REST call on the route: path
// variables from the message, the body the rule names, the other set
// scalar fields as query parameters. With msg nil, every path variable is
// "1" and the body is {}: enough to reach the auth interceptor.
func (r mxRoute) request(t *testing.T, msg protoreflect.Message) (path, body string) {
	t.Helper()
	bound := map[string]bool{}
	path = mxPathVar.ReplaceAllStringFunc(r.pattern, func(v string) string {
		field := mxPathVar.FindStringSubmatch(v)[1]
		bound[strings.Split(field, ".")[0]] = true
		if msg == nil {
			return "1"
		}
		val, ok := mxFieldText(msg, field)
		if !ok {
			t.Fatalf("%s: no field %s", r.pattern, field)
		}
		return url.PathEscape(val)
	})
	if r.body != "" {
		body = "{}"
	}
	if msg == nil {
		return path, body
	}
	switch r.body {
	case "":
	case "*":
		body = mxBody(t, msg)
	default:
		fd := msg.Descriptor().Fields().ByName(protoreflect.Name(r.body))
		bound[r.body] = true
		if msg.Has(fd) {
			body = mxBody(t, msg.Get(fd).Message())
		}
	}
	if r.body != "*" {
		q := url.Values{}
		msg.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			if !bound[string(fd.Name())] && fd.Message() == nil && !fd.IsList() && !fd.IsMap() {
				q.Set(string(fd.Name()), v.String())
			}
			return true
		})
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
	}
	return path, body
}

// mxFieldText reads a (dotted) scalar field as text.
func mxFieldText(msg protoreflect.Message, path string) (string, bool) {
	parts := strings.Split(path, ".")
	for i, name := range parts {
		fd := msg.Descriptor().Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return "", false
		}
		if i < len(parts)-1 {
			msg = msg.Get(fd).Message()
			continue
		}
		return msg.Get(fd).String(), true
	}
	return "", false
}

// mxBody writes the set fields of msg as a REST client would: like
// protojson, but with 64-bit integers as JSON numbers, as the REST contract
// has them.
func mxBody(t *testing.T, msg protoreflect.Message) string {
	t.Helper()
	b, err := json.Marshal(mxValue(t, msg))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mxValue(t *testing.T, msg protoreflect.Message) any {
	if strings.HasPrefix(string(msg.Descriptor().FullName()), "google.protobuf.") {
		b, err := protojson.Marshal(msg.Interface()) // Timestamp, Struct, Duration, ...
		if err != nil {
			t.Fatal(err)
		}
		return json.RawMessage(b)
	}
	out := map[string]any{}
	msg.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		one := func(v protoreflect.Value) any {
			switch {
			case fd.Message() != nil:
				return mxValue(t, v.Message())
			case fd.Enum() != nil:
				return string(fd.Enum().Values().ByNumber(v.Enum()).Name())
			}
			return v.Interface()
		}
		switch {
		case fd.IsList():
			var list []any
			for i := range v.List().Len() {
				list = append(list, one(v.List().Get(i)))
			}
			out[string(fd.Name())] = list
		case fd.IsMap():
			t.Fatalf("mxBody: map field %s", fd.FullName())
		default:
			out[string(fd.Name())] = one(v)
		}
		return true
	})
	return out
}

// mxTokens are the tokens of the matrix's legs.
type mxTokens struct {
	f          *fixture
	staff      *int
	admin      *int
	staffAll   string
	without    map[string]string
	rightStaff map[string]string
	rightAdmin map[string]string
}

// lacking is an operator token with every ability that does not grant
// ability.
func (k *mxTokens) lacking(t *testing.T, ability string) string {
	if tok, ok := k.without[ability]; ok {
		return tok
	}
	var abilities []string
	for _, a := range auth.Known {
		if !(&auth.Principal{Abilities: []string{a}}).Can(ability) {
			abilities = append(abilities, a)
		}
	}
	k.without[ability] = newToken(t, k.f.db, nil, abilities...)
	return k.without[ability]
}

// right is a token with the ability alone, acting as an admin user for
// admin methods and as a staff user for the others.
func (k *mxTokens) right(t *testing.T, p *v1.Policy) string {
	user, cache := k.staff, k.rightStaff
	if p.GetAdmin() {
		user, cache = k.admin, k.rightAdmin
	}
	if tok, ok := cache[p.GetAbility()]; ok {
		return tok
	}
	cache[p.GetAbility()] = newToken(t, k.f.db, user, p.GetAbility())
	return cache[p.GetAbility()]
}

// mxDenied is a leg that must be refused: with token ("" for none), the
// REST status http and the gRPC code.
type mxDenied struct {
	leg   string
	token string
	http  int
	code  codes.Code
}

func TestAccessMatrix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		// The remote refuses Tickiti's token, so deliveries fail at once
		// (RedeliverDelivery needs a failed one).
		f := newFixture(t, dbURL, func(int, call) (int, string) { return http.StatusUnauthorized, `{"error": "bad token"}` })
		conn := grpcClient(t, f)
		ctx := context.Background()
		staff := f.db.User.Create().SetEmail("mx-staff@tickiti.test").SetName("Matrix Staff").SaveX(ctx)
		admin := f.db.User.Create().SetEmail("mx-admin@tickiti.test").SetName("Matrix Admin").SetRole("admin").SaveX(ctx)
		k := &mxTokens{f: f, staff: &staff.ID, admin: &admin.ID, staffAll: newToken(t, f.db, &staff.ID, auth.Known...),
			without: map[string]string{}, rightStaff: map[string]string{}, rightAdmin: map[string]string{}}
		e := &mxEnv{f: f, setup: newToken(t, f.db, nil, auth.Known...)}

		methods := servedMethods(t, conn)
		if len(methods) == 0 {
			t.Fatal("reflection lists no tickiti method")
		}
		for _, m := range methods {
			t.Run(strings.TrimPrefix(m.full, "/tickiti.v1."), func(t *testing.T) {
				c, ok := mxCases[m.full]
				if !ok {
					t.Fatalf("%s has no entry in mxCases (server/matrix_test.go): add a builder of a valid request", m.full)
				}
				if m.policy.GetPublic() {
					t.Logf("%s is public: no 401/403 legs", m.full)
				} else {
					denied := []mxDenied{
						{"no token", "", http.StatusUnauthorized, codes.Unauthenticated},
						{"token without " + m.policy.GetAbility(), k.lacking(t, m.policy.GetAbility()), http.StatusForbidden, codes.PermissionDenied},
					}
					if m.policy.GetAdmin() {
						denied = append(denied, mxDenied{"staff user with every ability", k.staffAll, http.StatusForbidden, codes.PermissionDenied})
					}
					for _, d := range denied {
						for _, r := range m.routes {
							path, body := r.request(t, nil)
							code, _, b := do(t, r.verb, f.srv.base+path, d.token, nil, body)
							if code != d.http {
								t.Errorf("REST %s %s, %s: %d %s, want %d", r.verb, path, d.leg, code, b, d.http)
							}
						}
						callCtx := ctx
						if d.token != "" {
							callCtx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+d.token)
						}
						err := conn.Invoke(callCtx, m.full, dynamicpb.NewMessage(m.desc.Input()), dynamicpb.NewMessage(m.desc.Output()))
						if status.Code(err) != d.code {
							t.Errorf("gRPC %s, %s: %v, want %s", m.full, d.leg, err, d.code)
						}
					}
				}

				// The right token and a valid request: 2xx.
				msg := dynamicpb.NewMessage(m.desc.Input())
				text := c.req(t, e)
				if err := protojson.Unmarshal([]byte(text), msg); err != nil {
					t.Fatalf("mxCases[%s]: %v in %s", m.full, err, text)
				}
				r := m.routes[0]
				path, body := r.request(t, msg)
				var header map[string]string
				if c.header != nil {
					header = c.header(e)
				}
				token := ""
				if !m.policy.GetPublic() {
					token = k.right(t, m.policy)
				}
				code, _, b := do(t, r.verb, f.srv.base+path, token, header, body)
				if code < 200 || code > 299 {
					t.Errorf("REST %s %s %s with %s: %d %s, want 2xx", r.verb, path, body, mxRightName(m.policy), code, b)
				}
			})
		}
	})
}

func mxRightName(p *v1.Policy) string {
	who := "a staff user"
	if p.GetAdmin() {
		who = "an admin user"
	}
	return "a token with " + strconv.Quote(p.GetAbility()) + " alone acting as " + who
}

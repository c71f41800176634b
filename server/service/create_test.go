package service_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/apierr"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/service"
)

// creator is a remote system's token.
var creator = &auth.Principal{TokenID: 1, Abilities: []string{auth.CreateTicket}}

const oneIntervention = `
queues: [{name: Inbox}]
templates:
  - {identifier: a.private, body: "Request {{uid}}"}
interventions:
  - {name: a, title: A, queue: Inbox}
`

func createReq(uid string, data map[string]any) *v1.CreateTicketRequest {
	bag, err := structpb.NewStruct(data)
	if err != nil {
		panic(err)
	}
	return &v1.CreateTicketRequest{OriginatorEmailAddress: "customer@example.com", Intervention: "a", Uid: uid,
		Data: &v1.TicketData{Data: bag}}
}

func createErr(_ *v1.CreateTicketResponse, _ bool, err error) error { return err }

// TestCreateTicketUIDLength: the uid limit counts characters, as the
// contract says, on both databases.
func TestCreateTicketUIDLength(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		svc := service.New(dbtest.Open(t, url), service.Options{})
		apply(t, svc, oneIntervention)

		if _, _, err := svc.CreateTicket(ctx, creator, "k1", createReq(strings.Repeat("é", 255), nil)); err != nil {
			t.Errorf("255 two-byte characters: %v", err)
		}
		fields := fieldErrors(t, createErr(svc.CreateTicket(ctx, creator, "k2", createReq(strings.Repeat("é", 256), nil))))
		if len(fields["uid"]) != 1 {
			t.Errorf("256 characters: %v", fields)
		}
	})
}

// TestNULCharacter: PostgreSQL cannot store a NUL character in text or
// jsonb. The core refuses it with 422s on both databases, never a 500.
func TestNULCharacter(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		svc := service.New(dbtest.Open(t, url), service.Options{})
		apply(t, svc, oneIntervention)

		fields := fieldErrors(t, createErr(svc.CreateTicket(ctx, creator, "k1", createReq("a\x00b", nil))))
		if len(fields["uid"]) != 1 {
			t.Errorf("uid: %v", fields)
		}
		data := map[string]any{"x": "a\x00", "list": []any{"ok", map[string]any{"y": "\x00"}}, "k\x00": 1}
		fields = fieldErrors(t, createErr(svc.CreateTicket(ctx, creator, "k2", createReq("u", data))))
		want := []string{"data.data", "data.data.list[1].y", "data.data.x"}
		if got := sortedKeys(fields); !reflect.DeepEqual(got, want) {
			t.Errorf("data bag: fields %v, want %v", fields, want)
		}
		fields = fieldErrors(t, createErr(svc.CreateTicket(ctx, creator, "k3", &v1.CreateTicketRequest{
			OriginatorEmailAddress: "customer@example.com", Intervention: "a\x00", Uid: "u", Data: createReq("u", nil).Data})))
		if len(fields["intervention"]) != 1 {
			t.Errorf("intervention: %v", fields)
		}

		created, _, err := svc.CreateTicket(ctx, creator, "k4", createReq("u", map[string]any{"x": "1"}))
		if err != nil {
			t.Fatal(err)
		}
		staff := &auth.Principal{TokenID: 2, Abilities: []string{auth.TicketsWrite}}
		edits, _ := structpb.NewStruct(map[string]any{"x": "\x00"})
		fields = fieldErrors(t, must2(svc.SubmitIntervention(ctx, staff, &v1.SubmitInterventionRequest{
			TicketNumber: created.TicketNumber, Data: edits})))
		if len(fields["data.x"]) != 1 {
			t.Errorf("submitted data: %v", fields)
		}
		fields = fieldErrors(t, must2(svc.SubmitIntervention(ctx, staff, &v1.SubmitInterventionRequest{
			TicketNumber: created.TicketNumber, Content: "\x00"})))
		if len(fields["content"]) != 1 {
			t.Errorf("content: %v", fields)
		}

		// Elsewhere PostgreSQL's refusal is a 422 too (SQLite stores it).
		if !strings.HasPrefix(url, "postgres") {
			return
		}
		for name, err := range map[string]error{
			"get template": must2(svc.GetTemplate(ctx, "a\x00.private")),
			"list tickets": must2(svc.ListTickets(ctx, &v1.ListTicketsRequest{Query: "\x00"})),
			"create user":  must2(svc.CreateUser(ctx, nil, "jane@example.com", "Jane\x00", "")),
		} {
			if r := wfReason(err); r != apierr.ValidationFailed {
				t.Errorf("%s: %v, want validation_failed", name, err)
			}
		}
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestCreateTicketWhileDeletingIntervention: a ticket created while its
// intervention is deleted is either created (and the deletion refused, as
// the ticket is open) or refused as for an unknown intervention; never an
// internal error.
func TestCreateTicketWhileDeletingIntervention(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		svc := service.New(dbtest.Open(t, url), service.Options{})
		for i := range 20 {
			apply(t, svc, oneIntervention)
			done := make(chan error, 2)
			go func() {
				done <- createErr(svc.CreateTicket(ctx, creator, fmt.Sprint("k", i), createReq(fmt.Sprint("u", i), nil)))
			}()
			go func() { done <- must2(svc.DeleteIntervention(ctx, operator, "a")) }()
			for range 2 {
				if err := <-done; err != nil && wfReason(err) != apierr.Conflict && wfReason(err) != apierr.ValidationFailed {
					t.Fatalf("round %d: %v", i, err)
				}
			}
			// Finish the tickets, so the intervention can go.
			if _, err := svc.DB().Payload.Update().SetStatus("completed").Save(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.DeleteIntervention(ctx, operator, "a"); err != nil && wfReason(err) != apierr.NotFound {
				t.Fatal(err)
			}
		}
	})
}

// TestNonFiniteNumbers: JSON, which stores the data bag and the fields, has
// no NaN or infinity; binary gRPC (and protojson's "NaN" for a double) can
// send them. They are 422s, never a 500.
func TestNonFiniteNumbers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		svc := service.New(dbtest.Open(t, url), service.Options{})
		apply(t, svc, oneIntervention)
		nan, inf := math.NaN(), math.Inf(1)

		req := createReq("u", nil)
		req.Data.Data.Fields = map[string]*structpb.Value{"x": structpb.NewNumberValue(nan),
			"y": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewNumberValue(inf)}})}
		fields := fieldErrors(t, createErr(svc.CreateTicket(ctx, creator, "k1", req)))
		if want := []string{"data.data.x", "data.data.y[0]"}; !reflect.DeepEqual(sortedKeys(fields), want) {
			t.Errorf("data bag: fields %v, want %v", fields, want)
		}

		created, _, err := svc.CreateTicket(ctx, creator, "k2", createReq("u", map[string]any{"x": 1}))
		if err != nil {
			t.Fatal(err)
		}
		staff := &auth.Principal{TokenID: 2, Abilities: []string{auth.TicketsWrite}}
		edits := &structpb.Struct{Fields: map[string]*structpb.Value{"x": structpb.NewNumberValue(inf)}}
		fields = fieldErrors(t, must2(svc.SubmitIntervention(ctx, staff, &v1.SubmitInterventionRequest{
			TicketNumber: created.TicketNumber, Data: edits})))
		if len(fields["data.x"]) != 1 {
			t.Errorf("submitted data: %v", fields)
		}

		fields = fieldErrors(t, must2(svc.CreateIntervention(ctx, operator, &v1.CreateInterventionRequest{Intervention: &v1.Intervention{
			Name: "b", Title: "B", Queue: "Inbox", Fields: []*v1.UIField{{Type: "number", Name: "n", Label: "N", Min: &nan, Max: &inf}}}})))
		if want := []string{"fields[0].max", "fields[0].min"}; !reflect.DeepEqual(sortedKeys(fields), want) {
			t.Errorf("field bounds: fields %v, want %v", fields, want)
		}
	})
}

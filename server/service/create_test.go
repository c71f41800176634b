package service_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
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

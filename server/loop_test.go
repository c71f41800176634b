package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/dbtest"
)

// finalAnswer answers an epilog call with the seed's final block.
func finalAnswer(_ int, c call) (int, string) {
	var req struct {
		TicketID     int64  `json:"ticket_id"`
		ResponseID   int64  `json:"response_id"`
		UID          string `json:"uid"`
		Intervention string `json:"intervention"`
	}
	_ = json.Unmarshal(c.body, &req)
	b, _ := json.Marshal(map[string]any{
		"ok": true, "ticket_id": req.TicketID, "uid": req.UID, "intervention": req.Intervention,
		"final": map[string]any{"response_id": req.ResponseID, "ticket_audit": "Discount applied at 95 GBP. Order updated.",
			"remote_reference": "ORD-10021"},
		"unknown_field": "ignored",
	})
	return http.StatusOK, string(b)
}

// TestInterventionLoop drives the seed's whole flow through real listeners:
// create_ticket → staff review → submit → epilog → final.
func TestInterventionLoop(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, finalAnswer)

		code, hdr, body := f.createTicket(t, "3f1c6a0e-loop", seedBody)
		if code != http.StatusCreated {
			t.Fatalf("create_ticket: %d %s", code, body)
		}
		want := `{"ok":true,"data":{"ticket_id":1,"ticket_number":100001,"intervention":"discount_request","uid":"order-12345-discount","status":"open"}}`
		if string(body) != want {
			t.Fatalf("create_ticket body:\n got %s\nwant %s", body, want)
		}
		if ct := hdr.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		if hdr.Get("Idempotent-Replayed") != "" {
			t.Errorf("first answer marked as replayed")
		}

		// Staff review: the private note, the public response, the fields.
		v := f.ticket(t, 100001)
		if v.Data.Queue != "Inbox" || v.Data.Status != "open" || len(v.Data.Responses) != 2 {
			t.Fatalf("ticket: %+v", v.Data)
		}
		note, public := v.Data.Responses[0], v.Data.Responses[1]
		if !note.Internal || note.Content != "Discount request order-12345-discount: 100 GBP" || note.Author.Kind != "system" {
			t.Errorf("private note: %+v", note)
		}
		if public.Internal || public.Content != "We received your discount request and will answer soon." {
			t.Errorf("public response: %+v", public)
		}
		iv := v.Data.Intervention
		if iv.Status != "open" || len(iv.Fields) != 2 || iv.Fields[0].Label != "Order price (net) GBP" ||
			iv.Fields[0].Value != float64(100) || iv.Fields[1].Value != false || iv.Data["currency"] != "GBP" {
			t.Errorf("intervention: %+v", iv)
		}

		// Staff submit: the price edited as text, the checkbox ticked.
		code, _, body = do(t, "POST", f.srv.base+"/api/v1/tickets/100001/intervention:submit", f.staffToken, nil,
			`{"data": {"order_price": "95", "accept": true}, "content": "Approved for a loyal customer."}`)
		if code != http.StatusOK {
			t.Fatalf("submit: %d %s", code, body)
		}
		var sub struct {
			Data struct {
				ResponseID int64  `json:"response_id"`
				Status     string `json:"status"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &sub); err != nil || sub.Data.ResponseID == 0 || sub.Data.Status != "submitted" {
			t.Fatalf("submit answer: %s", body)
		}

		v = f.waitFor(t, 100001, "completion", func(v ticketView) bool { return v.Data.Intervention.Status == "completed" })

		// What the remote received: exactly the contract's body and headers.
		calls := f.remote.received()
		if len(calls) != 1 {
			t.Fatalf("remote got %d calls, want 1", len(calls))
		}
		c := calls[0]
		wantBody := `{"ticket_id":1,"response_id":` + itoa(sub.Data.ResponseID) +
			`,"uid":"order-12345-discount","intervention":"discount_request","action":"submit",` +
			`"data":{"accept":true,"currency":"GBP","order_price":95}}`
		if string(c.body) != wantBody {
			t.Errorf("epilog body:\n got %s\nwant %s", c.body, wantBody)
		}
		if got := c.header.Get("Authorization"); got != "Bearer "+f.remoteToken {
			t.Errorf("Authorization = %q", got)
		}
		if got := c.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type = %q", got)
		}
		if got := c.header.Get("User-Agent"); !strings.HasPrefix(got, "Tickiti/") {
			t.Errorf("User-Agent = %q", got)
		}
		if got := c.header.Get("Tickiti-Delivery-Id"); !strings.HasPrefix(got, "msg_") {
			t.Errorf("Tickiti-Delivery-Id = %q", got)
		}

		// The ticket after the final block.
		iv = v.Data.Intervention
		if iv.RemoteReference != "ORD-10021" || iv.Delivery.State != "completed" || iv.Data["order_price"] != float64(95) || iv.Data["accept"] != true {
			t.Errorf("completed intervention: %+v", iv)
		}
		if n := len(v.Data.Responses); n != 4 {
			t.Fatalf("%d responses, want 4 (note, public, staff, final)", n)
		}
		staff, final := v.Data.Responses[2], v.Data.Responses[3]
		if staff.ID != sub.Data.ResponseID || staff.Author.Name != "Alice Staff" || staff.Author.Kind != "user" ||
			staff.Content != "Approved for a loyal customer." || staff.Audit != "Discount applied at 95 GBP. Order updated." {
			t.Errorf("staff response: %+v", staff)
		}
		if final.Internal || final.Content != "Your discount is confirmed. Discount applied at 95 GBP. Order updated." {
			t.Errorf("final response: %+v", final)
		}

		// A second submit is refused: the decision is made.
		code, _, body = do(t, "POST", f.srv.base+"/api/v1/tickets/100001/intervention:submit", f.staffToken, nil, `{"data": {}}`)
		if code != http.StatusConflict || !strings.Contains(string(body), `"error":"conflict"`) {
			t.Errorf("second submit: %d %s", code, body)
		}
	})
}

// TestCreateTicketOverGRPC opens a ticket the way internal services do.
func TestCreateTicketOverGRPC(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, finalAnswer)
		conn, err := grpc.NewClient(f.srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		client := v1.NewTicketServiceClient(conn)
		req := &v1.CreateTicketRequest{
			OriginatorEmailAddress: "customer@example.com", Intervention: "discount_request", Uid: "grpc-1",
			Data: &v1.TicketData{Data: mustStruct(t, map[string]any{"currency": "EUR", "order_price": 10})},
		}
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+f.createToken, "idempotency-key", "grpc-key-1")
		var header metadata.MD
		resp, err := client.CreateTicket(ctx, req, grpc.Header(&header))
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetTicketNumber() != 100001 || resp.GetUid() != "grpc-1" || resp.GetStatus() != "open" {
			t.Errorf("answer: %v", resp)
		}
		if len(header.Get("idempotent-replayed")) != 0 {
			t.Errorf("first call marked replayed")
		}
		again, err := client.CreateTicket(ctx, req, grpc.Header(&header))
		if err != nil || again.GetTicketId() != resp.GetTicketId() || header.Get("idempotent-replayed")[0] != "true" {
			t.Errorf("replay: %v %v %v", again, err, header)
		}
		// Errors carry google.rpc details: the reason and the fields.
		bad := &v1.CreateTicketRequest{OriginatorEmailAddress: "nope", Intervention: "discount_request", Uid: "grpc-2",
			Data: &v1.TicketData{Data: mustStruct(t, map[string]any{"accept": "yes"})}}
		_, err = client.CreateTicket(metadata.AppendToOutgoingContext(context.Background(),
			"authorization", "Bearer "+f.createToken, "idempotency-key", "grpc-key-2"), bad)
		st := status.Convert(err)
		var reason string
		fields := map[string]bool{}
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.ErrorInfo:
				reason = d.GetReason() + "@" + d.GetDomain()
			case *errdetails.BadRequest:
				for _, v := range d.GetFieldViolations() {
					fields[v.GetField()] = true
				}
			}
		}
		if st.Code() != codes.InvalidArgument || reason != "VALIDATION_FAILED@tickiti.io" || !fields["originator_email_address"] {
			t.Errorf("validation error over gRPC: %v, reason %q, fields %v", st, reason, fields)
		}
		_, err = client.CreateTicket(context.Background(), req)
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("no credentials over gRPC: %v", err)
		}

		// The same staff read works over REST.
		if v := f.ticket(t, 100001); v.Data.Intervention.Data["currency"] != "EUR" {
			t.Errorf("ticket over REST: %+v", v.Data.Intervention)
		}
	})
}

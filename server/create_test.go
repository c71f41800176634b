package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickiti/tickiti/ent/idempotencykey"
	"github.com/tickiti/tickiti/ent/intervention"
	"github.com/tickiti/tickiti/server"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/uifield"
)

// errorBody is the REST error envelope.
type errorBody struct {
	OK      *bool               `json:"ok"`
	Error   string              `json:"error"`
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors"`
	Details map[string]any      `json:"details"`
}

func decodeError(t *testing.T, body []byte) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v\n%s", err, body)
	}
	if e.OK == nil || *e.OK || e.Error == "" || e.Message == "" {
		t.Fatalf("error body lacks ok/error/message: %s", body)
	}
	return e
}

// TestCreateTicketErrors walks CONTRACT.md §1's error table, one row at a time.
func TestCreateTicketErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, finalAnswer)
		ctx := context.Background()
		readToken := newToken(t, f.db, nil, auth.TicketsRead)
		revoked := newToken(t, f.db, nil, auth.CreateTicket)
		revokedID, _, _ := auth.Parse(revoked)
		f.db.APIToken.UpdateOneID(revokedID).SetRevokedAt(time.Now()).ExecX(ctx)
		createID, _, _ := auth.Parse(f.createToken)
		otherCreate := newToken(t, f.db, nil, auth.CreateTicket)
		f.db.Intervention.Create().SetName("disabled_one").SetTitle("Off").SetEnabled(false).SetFields([]uifield.Field{}).
			SetQueueID(f.db.Intervention.Query().Where(intervention.Name("discount_request")).OnlyX(ctx).QueueID).ExecX(ctx)

		// A ticket whose uid and key the conflict rows reuse.
		if code, _, body := f.createTicket(t, "first-key", seedBody); code != http.StatusCreated {
			t.Fatalf("setup create: %d %s", code, body)
		}
		// A request "still being processed" is a claimed key without an
		// answer; the probe gives the fingerprint of its body.
		inFlightBody := strings.Replace(seedBody, "order-12345-discount", "in-flight-uid", 1)
		code, _, _ := f.createTicket(t, "fingerprint-probe", inFlightBody)
		if code != http.StatusCreated {
			t.Fatal("probe failed")
		}
		probe := f.db.IdempotencyKey.Query().Where(idempotencykey.Key("fingerprint-probe")).OnlyX(ctx)
		f.db.IdempotencyKey.Create().SetTokenID(createID).SetKey("in-flight-key").SetFingerprint(probe.Fingerprint).
			SetExpiresAt(time.Now().Add(time.Hour)).ExecX(ctx)

		withUID := func(uid string) string { return strings.Replace(seedBody, "order-12345-discount", uid, 1) }
		huge := `{"originator_email_address":"a@b.co","intervention":"discount_request","uid":"big","data":{"data":{"pad":"` +
			strings.Repeat("x", 1<<20) + `"}}}`

		rows := []struct {
			name        string
			token       string
			headers     map[string]string
			body        string
			status      int
			reason      string
			errorFields []string
		}{
			{"no key", f.createToken, map[string]string{}, withUID("a1"), 400, "idempotency_key_missing", nil},
			{"empty quoted key", f.createToken, map[string]string{"Idempotency-Key": `""`}, withUID("a2"), 400, "idempotency_key_invalid", nil},
			{"key too long", f.createToken, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, withUID("a3"), 400, "idempotency_key_invalid", nil},
			{"key not ASCII", f.createToken, map[string]string{"Idempotency-Key": "clé-1"}, withUID("a4"), 400, "idempotency_key_invalid", nil},
			{"not JSON", f.createToken, key("k5"), `{"uid": `, 400, "malformed_json", nil},
			{"not an object", f.createToken, key("k6"), `["uid"]`, 400, "malformed_json", nil},
			{"wrong shape", f.createToken, key("k7"), `{"uid": 5, "intervention": "discount_request"}`, 400, "malformed_json", nil},
			{"data.data not an object", f.createToken, key("k8"), strings.Replace(seedBody, `{"currency": "GBP", "order_price": 100, "accept": false}`, `[1]`, 1), 400, "malformed_json", nil},
			{"no token", "", key("k9"), withUID("a9"), 401, "unauthenticated", nil},
			{"unknown token", "999|nope", key("k10"), withUID("a10"), 401, "unauthenticated", nil},
			{"wrong secret", strings.Split(f.createToken, "|")[0] + "|wrong", key("k11"), withUID("a11"), 401, "unauthenticated", nil},
			{"revoked token", revoked, key("k12"), withUID("a12"), 401, "unauthenticated", nil},
			{"token lacks ability", readToken, key("k13"), withUID("a13"), 403, "forbidden", nil},
			{"key reused with another body", f.createToken, key("first-key"), withUID("other"), 409, "idempotency_key_conflict", nil},
			{"key reused by another token", otherCreate, key("first-key"), seedBody, 409, "idempotency_key_conflict", nil},
			{"key in flight", f.createToken, key("in-flight-key"), inFlightBody, 409, "idempotency_key_in_flight", nil},
			{"uid taken", f.createToken, key("k17"), seedBody, 409, "uid_conflict", []string{"uid"}},
			{"too large", f.createToken, key("k18"), huge, 413, "payload_too_large", nil},
			{"missing fields", f.createToken, key("k20"), `{"data": {}}`, 422, "validation_failed",
				[]string{"data.data", "intervention", "originator_email_address", "uid"}},
			{"bad email", f.createToken, key("k21"), strings.Replace(withUID("a21"), "customer@example.com", "not-an-email", 1), 422, "validation_failed", []string{"originator_email_address"}},
			{"unknown intervention", f.createToken, key("k22"), strings.Replace(withUID("a22"), `"discount_request"`, `"Discount_Request"`, 1), 422, "validation_failed", []string{"intervention"}},
			{"disabled intervention", f.createToken, key("k23"), strings.Replace(withUID("a23"), `"discount_request"`, `"disabled_one"`, 1), 422, "validation_failed", []string{"intervention"}},
			{"checkbox not a boolean", f.createToken, key("k24"), strings.Replace(withUID("a24"), `"accept": false`, `"accept": "yes"`, 1), 422, "validation_failed", []string{"data.data.accept"}},
			{"uid too long", f.createToken, key("k25"), withUID(strings.Repeat("u", 256)), 422, "validation_failed", []string{"uid"}},
			{"number that a double cannot keep", f.createToken, key("k26"), strings.Replace(withUID("a26"), `"order_price": 100`, `"order_price": 12345678901234567890`, 1), 422, "validation_failed", []string{"data.data.order_price"}},
		}
		for _, r := range rows {
			t.Run(r.name, func(t *testing.T) {
				code, hdr, body := do(t, "POST", f.srv.base+"/api/create_ticket", r.token, r.headers, r.body)
				if code != r.status {
					t.Fatalf("status %d, want %d: %s", code, r.status, body)
				}
				e := decodeError(t, body)
				if e.Error != r.reason {
					t.Errorf("error %q, want %q (%s)", e.Error, r.reason, body)
				}
				for _, field := range r.errorFields {
					if len(e.Errors[field]) == 0 {
						t.Errorf("no message for field %q: %s", field, body)
					}
				}
				if code == 401 && hdr.Get("WWW-Authenticate") == "" {
					t.Errorf("401 without WWW-Authenticate")
				}
			})
		}

		t.Run("415 not JSON", func(t *testing.T) {
			req, _ := http.NewRequest("POST", f.srv.base+"/api/create_ticket", strings.NewReader(seedBody))
			req.Header.Set("Content-Type", "text/plain")
			req.Header.Set("Authorization", "Bearer "+f.createToken)
			req.Header.Set("Idempotency-Key", "k19")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			if resp.StatusCode != 415 || decodeError(t, buf.Bytes()).Error != "unsupported_media_type" {
				t.Errorf("%d %s", resp.StatusCode, buf.String())
			}
		})

		t.Run("uid conflict names the ticket", func(t *testing.T) {
			_, _, body := f.createTicket(t, "k30", seedBody)
			e := decodeError(t, body)
			if e.Details["ticket_id"] != float64(1) || e.Details["ticket_number"] != float64(100001) {
				t.Errorf("details: %v", e.Details)
			}
		})

		// Nothing was half-created by any of the failures: the setup's two
		// tickets are all there is, and failed keys were released.
		if n := f.db.Ticket.Query().CountX(ctx); n != 2 {
			t.Errorf("%d tickets, want 2", n)
		}
		if n := f.db.Payload.Query().CountX(ctx); n != 2 {
			t.Errorf("%d payloads, want 2", n)
		}
		if f.db.IdempotencyKey.Query().Where(idempotencykey.Key("k17")).ExistX(ctx) {
			t.Errorf("the key of a failed request is still held")
		}
	})
}

func key(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }

// TestCreateTicketReplay: the same key and body return the first answer,
// byte for byte, and create nothing; the quoted key form is the same key.
func TestCreateTicketReplay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, finalAnswer)
		code1, h1, body1 := f.createTicket(t, "replay-key", seedBody)
		// Same JSON, other whitespace and key order: the same request.
		reordered := `{"uid":"order-12345-discount","data":{"data":{"accept":false,"order_price":100,"currency":"GBP"}},` +
			`"intervention":"discount_request","originator_email_address":"customer@example.com"}`
		code2, h2, body2 := f.createTicket(t, `"replay-key"`, reordered)
		if code1 != 201 || code2 != 201 {
			t.Fatalf("statuses %d, %d", code1, code2)
		}
		if !bytes.Equal(body1, body2) {
			t.Errorf("replay body differs:\n%s\n%s", body1, body2)
		}
		if h1.Get("Idempotent-Replayed") != "" || h2.Get("Idempotent-Replayed") != "true" {
			t.Errorf("Idempotent-Replayed: first %q, replay %q", h1.Get("Idempotent-Replayed"), h2.Get("Idempotent-Replayed"))
		}
		if n := f.db.Ticket.Query().CountX(context.Background()); n != 1 {
			t.Errorf("%d tickets, want 1", n)
		}
	})
}

// TestCreateTicketConcurrentKey: 50 concurrent requests with one key create
// exactly one ticket; each gets the ticket or a clear "in flight".
func TestCreateTicketConcurrentKey(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, finalAnswer)
		const n = 50
		var wg sync.WaitGroup
		codes := make([]int, n)
		bodies := make([][]byte, n)
		for i := range n {
			wg.Go(func() { codes[i], _, bodies[i] = f.createTicket(t, "one-key-for-all", seedBody) })
		}
		wg.Wait()
		var created []byte
		for i, c := range codes {
			switch c {
			case 201:
				if created != nil && !bytes.Equal(created, bodies[i]) {
					t.Errorf("two different answers:\n%s\n%s", created, bodies[i])
				}
				created = bodies[i]
			case 409:
				if e := decodeError(t, bodies[i]); e.Error != "idempotency_key_in_flight" {
					t.Errorf("409 %s", bodies[i])
				}
			default:
				t.Errorf("status %d: %s", c, bodies[i])
			}
		}
		if created == nil {
			t.Error("no request got the ticket")
		}
		if got := f.db.Ticket.Query().CountX(context.Background()); got != 1 {
			t.Errorf("%d tickets, want exactly 1", got)
		}
	})
}

// TestCreateTicketConcurrentNewContact: requests racing to create the same
// new customer all succeed, with one contact.
func TestCreateTicketConcurrentNewContact(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, finalAnswer)
		const n = 20
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := range n {
			wg.Go(func() {
				body := strings.Replace(seedBody, "order-12345-discount", "race-"+itoa(int64(i)), 1)
				body = strings.Replace(body, "customer@example.com", "new.customer@example.com", 1)
				codes[i], _, _ = f.createTicket(t, "race-key-"+itoa(int64(i)), body)
			})
		}
		wg.Wait()
		for i, c := range codes {
			if c != http.StatusCreated {
				t.Errorf("request %d: status %d", i, c)
			}
		}
		if got := f.db.Contact.Query().CountX(context.Background()); got != 1 {
			t.Errorf("%d contacts, want 1", got)
		}
	})
}

// TestMaxBodyDecides: with --max-body raised past gRPC's 4 MiB default, a
// body within the limit is created and one past it is a 413.
func TestMaxBodyDecides(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		f := newFixture(t, url, finalAnswer)
		f.srv.stop()
		f.srv = startWith(t, url, func(c *server.Config) { c.MaxBody = 8 << 20 })
		body := func(uid string, size int) string {
			return `{"originator_email_address":"a@b.co","intervention":"discount_request","uid":"` + uid +
				`","data":{"data":{"pad":"` + strings.Repeat("x", size) + `"}}}`
		}
		if code, _, b := f.createTicket(t, "big-1", body("big-1", 6<<20)); code != http.StatusCreated {
			t.Errorf("6 MiB body: %d %.200s", code, b)
		}
		if code, _, b := f.createTicket(t, "big-2", body("big-2", 9<<20)); code != http.StatusRequestEntityTooLarge {
			t.Errorf("9 MiB body: %d %.200s", code, b)
		}
	})
}

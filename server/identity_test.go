package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/dbtest"
)

// okAnswer is a remote that accepts every decision.
func okAnswer(int, call) (int, string) { return http.StatusOK, `{"ok": true}` }

// adminToken makes an admin user with a token carrying abilities.
func adminToken(t *testing.T, f *fixture, email string, abilities ...string) string {
	t.Helper()
	u := f.db.User.Create().SetEmail(email).SetName("Ada Admin").SetRole("admin").SaveX(context.Background())
	return newToken(t, f.db, &u.ID, abilities...)
}

// restJSON sends a request and decodes the envelope's data into out (when
// not nil), failing unless the status is want.
func restJSON(t *testing.T, method, u, token, body string, want int, out any) []byte {
	t.Helper()
	code, _, b := do(t, method, u, token, nil, body)
	if code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, u, code, b, want)
	}
	if out != nil {
		env := struct {
			OK   bool            `json:"ok"`
			Data json.RawMessage `json:"data"`
		}{}
		if err := json.Unmarshal(b, &env); err != nil || !env.OK {
			t.Fatalf("%s %s: %v %s", method, u, err, b)
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			t.Fatalf("%s %s: decode data: %v %s", method, u, err, b)
		}
	}
	return b
}

type tokenView struct {
	ID             int64      `json:"id"`
	Description    string     `json:"description"`
	Abilities      []string   `json:"abilities"`
	UserEmail      string     `json:"user_email"`
	CreateTime     time.Time  `json:"create_time"`
	LastUseTime    *time.Time `json:"last_use_time"`
	Revoked        bool       `json:"revoked"`
	RevokeTime     *time.Time `json:"revoke_time"`
	PlainTextToken string     `json:"plain_text_token"`
}

type userView struct {
	ID     int64  `json:"id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	Active bool   `json:"active"`
}

func grpcClient(t *testing.T, f *fixture) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(f.srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func bearer(token string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
}

// TestTokensAPI: an admin creates a token over REST (shown once), lists
// tokens (never a secret), and revokes it: its next request gets 401. The
// same over gRPC.
func TestTokensAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		f := newFixture(t, dbURL, okAnswer)
		base := f.srv.base + "/api/v1/tokens"
		admin := adminToken(t, f, "ada@tickiti.test", auth.TokensManage, auth.WorkflowRead)

		var tok tokenView
		restJSON(t, "POST", base, admin, `{"abilities": ["tickets:read"], "description": "reporting", "user_email": "ALICE@tickiti.test"}`,
			http.StatusCreated, &tok)
		_, secret, ok := auth.Parse(tok.PlainTextToken)
		if !ok || tok.ID == 0 || !strings.HasPrefix(tok.PlainTextToken, strconv.FormatInt(tok.ID, 10)+"|") ||
			tok.UserEmail != "alice@tickiti.test" || tok.Revoked || tok.CreateTime.IsZero() {
			t.Fatalf("created token: %+v", tok)
		}
		// It works at once, for what its abilities allow.
		restJSON(t, "GET", f.srv.base+"/api/v1/deliveries", tok.PlainTextToken, "", http.StatusOK, nil)
		restJSON(t, "GET", base, tok.PlainTextToken, "", http.StatusForbidden, nil)

		var list struct {
			Tokens        []tokenView `json:"tokens"`
			NextPageToken string      `json:"next_page_token"`
		}
		body := restJSON(t, "GET", base, admin, "", http.StatusOK, &list)
		if strings.Contains(string(body), secret) || strings.Contains(string(body), "hash") {
			t.Errorf("the listing shows a secret: %s", body)
		}
		last := list.Tokens[len(list.Tokens)-1]
		if last.ID != tok.ID || last.Description != "reporting" || last.UserEmail != "alice@tickiti.test" ||
			last.LastUseTime == nil || last.PlainTextToken != "" || strings.Join(last.Abilities, ",") != "tickets:read" {
			t.Errorf("listed token: %+v", last)
		}

		// Revoked: 401 on the very next request.
		var revoked tokenView
		restJSON(t, "POST", base+"/"+strconv.FormatInt(tok.ID, 10)+":revoke", admin, "{}", http.StatusOK, &revoked)
		if !revoked.Revoked || revoked.RevokeTime == nil {
			t.Errorf("revoked: %+v", revoked)
		}
		code, header, b := do(t, "GET", f.srv.base+"/api/v1/deliveries", tok.PlainTextToken, nil, "")
		if code != http.StatusUnauthorized || !strings.Contains(string(b), `"error":"unauthenticated"`) || header.Get("WWW-Authenticate") == "" {
			t.Errorf("revoked token: %d %s", code, b)
		}
		restJSON(t, "GET", base+"/999999", admin, "", http.StatusNotFound, nil)
		restJSON(t, "POST", base, admin, `{"abilities": ["root"]}`, http.StatusUnprocessableEntity, nil)

		// gRPC: the same service.
		tokens := v1.NewTokenServiceClient(grpcClient(t, f))
		created, err := tokens.CreateToken(bearer(admin), &v1.CreateTokenRequest{Token: &v1.Token{Abilities: []string{"workflow:read"}}})
		if err != nil || created.GetPlainTextToken() == "" || created.GetUserEmail() != "" {
			t.Fatalf("gRPC CreateToken: %v, %v", created, err)
		}
		audit := v1.NewAuditServiceClient(grpcClient(t, f))
		if _, err := audit.ListAuditEvents(bearer(created.GetPlainTextToken()), &v1.ListAuditEventsRequest{}); err != nil {
			t.Fatalf("ListAuditEvents with the new token: %v", err)
		}
		if _, err := tokens.RevokeToken(bearer(admin), &v1.RevokeTokenRequest{Id: created.GetId()}); err != nil {
			t.Fatal(err)
		}
		_, err = audit.ListAuditEvents(bearer(created.GetPlainTextToken()), &v1.ListAuditEventsRequest{})
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("revoked token over gRPC: %v", err)
		}
		resp, err := tokens.ListTokens(bearer(admin), &v1.ListTokensRequest{PageSize: 2})
		if err != nil || len(resp.GetTokens()) != 2 || resp.GetNextPageToken() == "" {
			t.Errorf("gRPC ListTokens: %v, %v", resp, err)
		}

		// Both tokens' lives are in the audit log, without their secrets.
		var evs struct {
			AuditEvents []struct {
				Actor, Resource, ResourceName, Action string
				Changes                               []map[string]any
			} `json:"audit_events"`
		}
		body = restJSON(t, "GET", f.srv.base+"/api/v1/audit_events?resource=token", admin, "", http.StatusOK, &evs)
		var got []string
		for _, ev := range evs.AuditEvents {
			got = append(got, ev.Action+" by "+ev.Actor)
		}
		if strings.Join(got, ", ") != "revoke by Ada Admin, create by Ada Admin, revoke by Ada Admin, create by Ada Admin" {
			t.Errorf("token events: %v", got)
		}
		if strings.Contains(string(body), secret) {
			t.Errorf("the audit log shows a secret: %s", body)
		}
	})
}

// TestUsersAPI: create, a PATCH that changes one field, deactivation that
// stops the user's tokens on the next request, reactivation, the audit log.
func TestUsersAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		f := newFixture(t, dbURL, okAnswer)
		base := f.srv.base + "/api/v1/users"
		admin := adminToken(t, f, "ada@tickiti.test", auth.TokensManage, auth.WorkflowRead)

		var u userView
		restJSON(t, "POST", base, admin, `{"email": "Bob@Example.com", "name": "Bob"}`, http.StatusCreated, &u)
		if u.Email != "bob@example.com" || u.Role != "staff" || !u.Active || u.ID == 0 {
			t.Fatalf("created user: %+v", u)
		}
		restJSON(t, "POST", base, admin, `{"email": "bob@example.com", "name": "Bob again"}`, http.StatusUnprocessableEntity, nil)
		userURL := base + "/" + strconv.FormatInt(u.ID, 10)
		var tok tokenView
		restJSON(t, "POST", f.srv.base+"/api/v1/tokens", admin, `{"abilities": ["tickets:read"], "user_email": "bob@example.com"}`,
			http.StatusCreated, &tok)

		// PATCH with the role alone changes the role alone: the name and
		// the active flag the body does not mention stay.
		restJSON(t, "PATCH", userURL, admin, `{"role": "admin"}`, http.StatusOK, &u)
		if u.Role != "admin" || u.Name != "Bob" || !u.Active || u.Email != "bob@example.com" {
			t.Errorf("after PATCH role: %+v", u)
		}
		restJSON(t, "GET", userURL, admin, "", http.StatusOK, &u)
		if u.Role != "admin" || u.Name != "Bob" || !u.Active {
			t.Errorf("GET after PATCH role: %+v", u)
		}
		restJSON(t, "PATCH", userURL, admin, `{"name": "Bob Smith", "email": "bob@example.com"}`, http.StatusOK, &u)
		if u.Role != "admin" || u.Name != "Bob Smith" {
			t.Errorf("after PATCH name: %+v", u)
		}
		restJSON(t, "PATCH", userURL, admin, `{"email": "robert@example.com"}`, http.StatusUnprocessableEntity, nil)
		restJSON(t, "PATCH", userURL, admin, `{"role": "boss"}`, http.StatusUnprocessableEntity, nil)
		restJSON(t, "PATCH", base+"/999999", admin, `{"name": "Nobody"}`, http.StatusNotFound, nil)

		// Deactivated: the user's token gets 401 on the next request.
		restJSON(t, "GET", f.srv.base+"/api/v1/deliveries", tok.PlainTextToken, "", http.StatusOK, nil)
		restJSON(t, "POST", userURL+":deactivate", admin, "{}", http.StatusOK, &u)
		if u.Active {
			t.Errorf("after deactivate: %+v", u)
		}
		code, _, b := do(t, "GET", f.srv.base+"/api/v1/deliveries", tok.PlainTextToken, nil, "")
		if code != http.StatusUnauthorized || !strings.Contains(string(b), "deactivated") {
			t.Errorf("deactivated user's token: %d %s", code, b)
		}
		restJSON(t, "PATCH", userURL, admin, `{"active": true}`, http.StatusOK, &u)
		restJSON(t, "GET", f.srv.base+"/api/v1/deliveries", tok.PlainTextToken, "", http.StatusOK, nil)

		var list struct {
			Users []userView `json:"users"`
		}
		restJSON(t, "GET", base+"?page_size=10", admin, "", http.StatusOK, &list)
		if len(list.Users) != 3 || list.Users[2].Email != "bob@example.com" {
			t.Errorf("users: %+v", list.Users)
		}
		restJSON(t, "GET", base+"?page_token=bogus", admin, "", http.StatusUnprocessableEntity, nil)

		// The audit log: filtered by resource and name, and by time.
		type eventView struct {
			Actor, Action string
			Changes       []struct {
				Field    string `json:"field"`
				OldValue any    `json:"old_value"`
				NewValue any    `json:"new_value"`
			} `json:"changes"`
			CreateTime time.Time `json:"create_time"`
		}
		var evs struct {
			AuditEvents []eventView `json:"audit_events"`
		}
		restJSON(t, "GET", f.srv.base+"/api/v1/audit_events?resource=user&resource_name=bob@example.com", admin, "", http.StatusOK, &evs)
		var got []string
		for _, ev := range evs.AuditEvents {
			var cs []string
			for _, c := range ev.Changes {
				cs = append(cs, c.Field+" "+jsonText(c.OldValue)+"→"+jsonText(c.NewValue))
			}
			got = append(got, ev.Action+": "+strings.Join(cs, ", "))
		}
		want := []string{
			"update: active false→true",
			"deactivate: active true→false",
			"update: name \"Bob\"→\"Bob Smith\"",
			"update: role \"staff\"→\"admin\"",
			"create: email null→\"bob@example.com\", name null→\"Bob\", role null→\"staff\", active null→true",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("user events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		first := evs.AuditEvents[len(evs.AuditEvents)-1].CreateTime
		q := url.Values{"resource": {"user"}, "start_time": {first.Add(time.Hour).Format(time.RFC3339)}}
		restJSON(t, "GET", f.srv.base+"/api/v1/audit_events?"+q.Encode(), admin, "", http.StatusOK, &evs)
		if len(evs.AuditEvents) != 0 {
			t.Errorf("events after an hour from now: %+v", evs.AuditEvents)
		}
		q = url.Values{"end_time": {first.Add(-time.Hour).Format(time.RFC3339)}, "start_time": {first.Format(time.RFC3339Nano)}}
		restJSON(t, "GET", f.srv.base+"/api/v1/audit_events?"+q.Encode(), admin, "", http.StatusUnprocessableEntity, nil)
	})
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/tickiti/tickiti/server"
	"github.com/tickiti/tickiti/server/auth"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/delivery"
	"github.com/tickiti/tickiti/server/store"
	"github.com/tickiti/tickiti/server/uifield"
)

// fastSchedule retries quickly so failure tests run in milliseconds.
var fastSchedule = []time.Duration{0, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}

// running is a Tickiti server on real listeners.
type running struct {
	*server.Server
	base string
	stop func()
}

// start runs a server on the database at url until the test ends (or stop).
func start(t *testing.T, url string) *running { return startWith(t, url, nil) }

// startWith is start with the configuration changed by tune.
func startWith(t *testing.T, url string, tune func(*server.Config)) *running {
	t.Helper()
	ctx := context.Background()
	cfg := server.Config{
		DB: url, HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0",
		Delivery: delivery.Options{Schedule: fastSchedule, Poll: 20 * time.Millisecond},
		Logger:   slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	if tune != nil {
		tune(&cfg)
	}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server stopped with %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &running{Server: srv, base: "http://" + srv.HTTPAddr(), stop: stop}
}

// remote is a fake remote system: it records epilog calls and answers with
// what answer returns.
type remote struct {
	*httptest.Server
	mu     sync.Mutex
	calls  []call
	answer func(n int, c call) (int, string)
}

type call struct {
	header http.Header
	body   []byte
}

func newRemote(t *testing.T, answer func(n int, c call) (int, string)) *remote {
	r := &remote{answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		c := call{header: req.Header.Clone(), body: body}
		r.mu.Lock()
		r.calls = append(r.calls, c)
		n := len(r.calls)
		r.mu.Unlock()
		code, text := r.answer(n, c)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, text)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *remote) received() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// seed declares the seed's discount_request intervention, calling back
// epilogURL, and returns a create-ticket token and a staff token.
func seed(t testing.TB, db *store.DB, epilogURL string) (remoteToken, createToken, staffToken string) {
	t.Helper()
	ctx := context.Background()
	q := db.Queue.Create().SetName("Inbox").SaveX(ctx)
	db.Template.Create().SetIdentifier("discount_request.private").SetBody("Discount request {{uid}}: {{order_price}} {{currency}}").ExecX(ctx)
	db.Template.Create().SetIdentifier("discount_request.public").SetBody("We received your discount request and will answer soon.").ExecX(ctx)
	db.Template.Create().SetIdentifier("discount_request.final").SetBody("Your discount is confirmed. {{ticket_audit}}").ExecX(ctx)
	remoteToken = "remote-secret-token"
	db.Intervention.Create().SetName("discount_request").SetTitle("Discount request").SetQueueID(q.ID).
		SetRemoteEnabled(true).SetRemoteEpilogURL(epilogURL).SetRemoteTimeoutSeconds(2).SetRemoteToken(remoteToken).
		SetFields([]uifield.Field{
			{Type: uifield.Text, Name: "order_price", Label: "Order price (net) {{currency}}"},
			{Type: uifield.Checkbox, Name: "accept", Label: "Accept this discount?"},
		}).ExecX(ctx)
	u := db.User.Create().SetEmail("alice@tickiti.test").SetName("Alice Staff").SaveX(ctx)
	return remoteToken, newToken(t, db, nil, auth.CreateTicket), newToken(t, db, &u.ID, auth.TicketsWrite)
}

func newToken(t testing.TB, db *store.DB, userID *int, abilities ...string) string {
	t.Helper()
	secret := auth.NewSecret()
	tok := db.APIToken.Create().SetAbilities(abilities).SetSecretHash(auth.Hash(secret)).
		SetCreatedAt(time.Now()).SetNillableUserID(userID).SaveX(context.Background())
	return auth.Format(tok.ID, secret)
}

// fixture is a server with the seed intervention and a fake remote.
type fixture struct {
	srv                                  *running
	db                                   *store.DB
	remote                               *remote
	remoteToken, createToken, staffToken string
}

func newFixture(t *testing.T, url string, answer func(n int, c call) (int, string)) *fixture {
	f := &fixture{remote: newRemote(t, answer)}
	f.db = dbtest.Open(t, url)
	f.remoteToken, f.createToken, f.staffToken = seed(t, f.db, f.remote.URL)
	f.srv = start(t, url)
	return f
}

// do sends a JSON request and returns the status, headers and body.
func do(t *testing.T, method, url, token string, header map[string]string, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

const seedBody = `{"originator_email_address": "customer@example.com", "intervention": "discount_request",
 "uid": "order-12345-discount", "data": {"data": {"currency": "GBP", "order_price": 100, "accept": false}}}`

func (f *fixture) createTicket(t *testing.T, key, body string) (int, http.Header, []byte) {
	t.Helper()
	return do(t, "POST", f.srv.base+"/api/create_ticket", f.createToken, map[string]string{"Idempotency-Key": key}, body)
}

// ticketView is the part of GET /api/v1/tickets/{n} the tests read.
type ticketView struct {
	OK   bool `json:"ok"`
	Data struct {
		ID        int64  `json:"id"`
		Number    int64  `json:"number"`
		Status    string `json:"status"`
		Queue     string `json:"queue"`
		Responses []struct {
			ID       int64  `json:"id"`
			Internal bool   `json:"internal"`
			Content  string `json:"content"`
			Audit    string `json:"audit"`
			Author   struct {
				Kind, Name string
			} `json:"author"`
		} `json:"responses"`
		Intervention struct {
			Status          string         `json:"status"`
			RemoteReference string         `json:"remote_reference"`
			RemoteMessage   string         `json:"remote_message"`
			Data            map[string]any `json:"data"`
			Fields          []struct {
				Type, Name, Label string
				Value             any
			} `json:"fields"`
			Delivery struct {
				State    string `json:"state"`
				Attempts int    `json:"attempts"`
			} `json:"delivery"`
		} `json:"intervention"`
	} `json:"data"`
}

func (f *fixture) ticket(t *testing.T, number int64) ticketView {
	t.Helper()
	code, _, body := do(t, "GET", f.srv.base+"/api/v1/tickets/"+itoa(number), f.staffToken, nil, "")
	if code != http.StatusOK {
		t.Fatalf("GET ticket: %d %s", code, body)
	}
	var v ticketView
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode ticket: %v\n%s", err, body)
	}
	return v
}

// waitFor polls the ticket until cond holds (the dispatcher is asynchronous).
func (f *fixture) waitFor(t *testing.T, number int64, what string, cond func(ticketView) bool) ticketView {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v := f.ticket(t, number)
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; ticket is %+v", what, v.Data.Intervention)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	entdelivery "github.com/tickiti/tickiti/ent/delivery"
	"github.com/tickiti/tickiti/ent/deliveryattempt"
	v1 "github.com/tickiti/tickiti/gen/tickiti/v1"
	"github.com/tickiti/tickiti/pkg/webhook"
	"github.com/tickiti/tickiti/server"
	"github.com/tickiti/tickiti/server/dbtest"
	"github.com/tickiti/tickiti/server/delivery"
	"github.com/tickiti/tickiti/server/service"
)

// TestReplicasShareDeliveries: two servers on one PostgreSQL, with the
// default dispatcher settings, take submissions made on either; the remote
// receives each delivery exactly once.
func TestReplicasShareDeliveries(t *testing.T) {
	const n = 200
	url := dbtest.PostgresURL(t)
	var mu sync.Mutex
	calls := map[string]int{}
	var lastCall time.Time
	fr := newFaultRemote(t, func(_ int, h hit, w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		calls[h.header.Get("webhook-id")]++
		lastCall = h.at
		mu.Unlock()
		time.Sleep(2 * time.Millisecond) // a remote that does some work, so attempts overlap
		final(w, h)
	})
	f := newFaultFixture(t, url, fr.URL, delivery.Options{})
	replicas := []*running{f.srv, startWith(t, url, func(c *server.Config) { c.Delivery = delivery.Options{} })}

	// A first ticket, not submitted, creates the customer's contact: the
	// concurrent first creation of a contact is not this test's subject.
	f.createNumbered(t, n)

	// Tickets and submissions spread over both replicas, 8 at a time.
	begin := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				r := replicas[i%2]
				body := strings.Replace(seedBody, "order-12345-discount", "order-"+strconv.Itoa(i), 1)
				code, _, b := do(t, "POST", r.base+"/api/create_ticket", f.createToken, map[string]string{"Idempotency-Key": "rk-" + strconv.Itoa(i)}, body)
				var created struct {
					Data struct {
						TicketNumber int64 `json:"ticket_number"`
					} `json:"data"`
				}
				if code != http.StatusCreated || json.Unmarshal(b, &created) != nil {
					t.Errorf("create %d: %d %s", i, code, b)
					continue
				}
				// Submitted on the other replica than the one that created it.
				r = replicas[(i+1)%2]
				code, _, b = do(t, "POST", r.base+"/api/v1/tickets/"+itoa(created.Data.TicketNumber)+"/intervention:submit", f.staffToken, nil, `{"data": {"accept": true}}`)
				if code != http.StatusOK {
					t.Errorf("submit %d: %d %s", i, code, b)
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	submitted := time.Since(begin)

	ctx := context.Background()
	deadline := time.Now().Add(90 * time.Second)
	for {
		done := f.db.Delivery.Query().Where(entdelivery.StateEQ(entdelivery.StateCompleted)).CountX(ctx)
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries completed", done, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != n {
		t.Errorf("the remote saw %d delivery ids, want %d", len(calls), n)
	}
	for id, c := range calls {
		if c != 1 {
			t.Errorf("delivery %s sent %d times", id, c)
		}
	}
	if a := f.db.DeliveryAttempt.Query().CountX(ctx); a != n {
		t.Errorf("%d attempts recorded, want %d", a, n)
	}
	// Both replicas did part of the work.
	var perReplica []int
	total := 0
	for _, r := range replicas {
		c := successes(t, r.base)
		perReplica = append(perReplica, c)
		total += c
		if c == 0 {
			t.Errorf("a replica made no attempt: %v", perReplica)
		}
	}
	if total != n {
		t.Errorf("successes per replica %v, want %d in all", perReplica, n)
	}
	// How long from a submission to its call: the figure behind "within a
	// second on either replica" (the default poll is 500 ms).
	var worst time.Duration
	for _, d := range f.db.Delivery.Query().WithAttemptLog().AllX(ctx) {
		if wait := d.Edges.AttemptLog[0].StartedAt.Sub(d.CreatedAt); wait > worst {
			worst = wait
		}
	}
	t.Logf("%d submissions on 2 replicas: submitted in %s, all delivered %s after the first; per replica %v; slowest submit-to-call %s",
		n, submitted.Round(time.Millisecond), lastCall.Sub(begin).Round(time.Millisecond), perReplica, worst.Round(time.Millisecond))
}

// successes reads a replica's count of successful attempts from /metrics.
func successes(t *testing.T, base string) int {
	t.Helper()
	for _, line := range strings.Split(scrape(t, base), "\n") {
		if v, ok := strings.CutPrefix(line, `tickiti_delivery_attempts_total{outcome="success"} `); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Fatalf("no success counter in /metrics")
	return 0
}

// TestKill9DuringAttempt: `tickiti serve` is killed (SIGKILL) while the
// remote holds an epilog call open. Nothing is lost: the restarted process
// takes the delivery over once its lease expires, records the interrupted
// attempt, and completes it. The calls are signed with the secret the CLI
// printed.
func TestKill9DuringAttempt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the tickiti binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tickiti")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/tickiti/tickiti/cmd/tickiti").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	url := "sqlite:" + filepath.Join(dir, "tickiti.db")

	arrived := make(chan int, 4)
	fr := newFaultRemote(t, func(n int, h hit, w http.ResponseWriter, r *http.Request) {
		arrived <- n
		if n == 1 {
			<-r.Context().Done() // hold the call until its client dies
			return
		}
		final(w, h)
	})
	db := dbtest.Open(t, url)
	_, createToken, staffToken := seed(t, db, fr.URL)

	out, err := exec.Command(bin, "intervention", "rotate-signing-secret", "discount_request", "--db", url).Output()
	if err != nil {
		t.Fatalf("rotate-signing-secret: %v", err)
	}
	secret := strings.TrimSpace(string(out))
	if !strings.HasPrefix(secret, "whsec_") || strings.Contains(secret, "\n") {
		t.Fatalf("rotate-signing-secret printed %q", out)
	}

	first := serveProcess(t, bin, url, "first")
	code, _, body := do(t, "POST", first.base+"/api/create_ticket", createToken, map[string]string{"Idempotency-Key": "kill-1"}, seedBody)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	code, _, body = do(t, "POST", first.base+"/api/v1/tickets/100001/intervention:submit", staffToken, nil, `{"data": {"accept": true}}`)
	if code != http.StatusOK {
		t.Fatalf("submit: %d %s", code, body)
	}
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the first call never arrived")
	}
	first.kill()
	d := db.Delivery.Query().OnlyX(context.Background())
	if d.State != entdelivery.StatePending || d.LeaseToken == "" || db.DeliveryAttempt.Query().CountX(context.Background()) != 0 {
		t.Fatalf("after the kill: %s, lease %q", d.State, d.LeaseToken)
	}

	second := serveProcess(t, bin, url, "second")
	f := &fixture{srv: &running{base: second.base}, staffToken: staffToken}
	got := f.waitDelivery(t, 100001, "completion after the restart", func(d deliveryView) bool { return d.State == "completed" })
	if got.outcomes() != "interrupted,success" || got.Attempts != 1 {
		t.Errorf("attempts: %s (%d)", got.outcomes(), got.Attempts)
	}
	hits := fr.received()
	if len(hits) != 2 {
		t.Fatalf("%d calls, want 2", len(hits))
	}
	for i, h := range hits {
		if h.header.Get("webhook-id") != got.DeliveryID {
			t.Errorf("call %d has id %q", i, h.header.Get("webhook-id"))
		}
		if err := webhook.Verify(secret, h.header, h.body, time.Minute); err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	second.stop()
}

// process is a `tickiti serve` subprocess.
type process struct {
	cmd  *exec.Cmd
	base string
	done chan struct{}
}

func serveProcess(t *testing.T, bin, url, name string) *process {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--db", url, "--http-addr", addr, "--grpc-addr", "127.0.0.1:0",
		"--delivery-lease", "1s", "--delivery-poll", "100ms", "--retry-schedule", "0s,200ms,200ms,200ms,200ms")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, base: "http://" + addr, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s process log:\n%s", name, b)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s process exited:\n%s", name, b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s process not healthy at %s", name, p.base)
		}
	}
}

// kill sends SIGKILL: no shutdown, nothing recorded.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop shuts the process down gracefully.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill()
	}
}

// TestDeliveriesOverGRPC: the DeliveryService answers on the gRPC door
// under the same policy as over REST.
func TestDeliveriesOverGRPC(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		fr := newFaultRemote(t, func(_ int, h hit, w http.ResponseWriter, _ *http.Request) { final(w, h) })
		f := newFaultFixture(t, url, fr.URL, fastOpts)
		f.mustCreate(t)
		f.mustSubmit(t, 100001)
		f.waitDelivery(t, 100001, "completion", func(d deliveryView) bool { return d.State == "completed" })

		conn, err := grpc.NewClient(f.srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		client := v1.NewDeliveryServiceClient(conn)
		if _, err := client.ListDeliveries(context.Background(), &v1.ListDeliveriesRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Errorf("without a token: %v", err)
		}
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+f.staffToken)
		resp, err := client.ListTicketDeliveries(ctx, &v1.ListTicketDeliveriesRequest{TicketNumber: 100001})
		if err != nil || len(resp.GetDeliveries()) != 1 {
			t.Fatalf("ListTicketDeliveries: %v %v", resp, err)
		}
		d := resp.GetDeliveries()[0]
		if d.GetState() != "completed" || d.GetTicketNumber() != 100001 || len(d.GetAttemptLog()) != 1 ||
			d.GetAttemptLog()[0].GetOutcome() != "success" || d.GetAttemptLog()[0].GetHttpStatus() != 200 {
			t.Errorf("delivery: %v", d)
		}
		all, err := client.ListDeliveries(ctx, &v1.ListDeliveriesRequest{State: "completed"})
		if err != nil || len(all.GetDeliveries()) != 1 || all.GetNextPageToken() != "" {
			t.Errorf("ListDeliveries: %v %v", all, err)
		}
		if _, err := client.RedeliverDelivery(ctx, &v1.RedeliverDeliveryRequest{TicketNumber: 100001, Id: d.GetId()}); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("redeliver a completed delivery: %v", err)
		}
	})
}

// TestFinalAppliedOnce: a final block that arrives a second time (a retried
// answer) changes nothing: no second audit line, no second final response.
func TestFinalAppliedOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		// A remote that is down: the delivery stays pending for the test
		// to drive by hand.
		fr := newFaultRemote(t, func(_ int, _ hit, w http.ResponseWriter, _ *http.Request) {
			answer(w, http.StatusServiceUnavailable, "")
		})
		f := newFaultFixture(t, url, fr.URL, delivery.Options{Poll: 20 * time.Millisecond, Schedule: []time.Duration{0, time.Hour}})
		f.mustCreate(t)
		f.mustSubmit(t, 100001)
		f.waitDelivery(t, 100001, "a failed attempt", func(d deliveryView) bool { return d.Attempts == 1 })
		f.srv.stop()

		ctx := context.Background()
		svc := service.New(f.db, service.Options{})
		d := f.db.Delivery.Query().OnlyX(ctx)
		ans := &v1.EpilogResponse{Ok: proto.Bool(true), Final: &v1.EpilogFinal{ResponseId: int64(d.ResponseID), TicketAudit: "Applied.", RemoteReference: "R-1"}}
		for i := range 2 {
			token := fmt.Sprintf("lease-%d", i)
			// As if a dispatcher held the delivery (again) and got the answer.
			f.db.Delivery.UpdateOneID(d.ID).SetState(entdelivery.StatePending).SetLeaseToken(token).ExecX(ctx)
			state, err := svc.ApplyAnswer(ctx, d.ID, token, ans, service.Attempt{Start: time.Now(), Status: 200})
			if err != nil || state != entdelivery.StateCompleted {
				t.Fatalf("apply %d: %s %v", i, state, err)
			}
		}
		if _, err := svc.ApplyAnswer(ctx, d.ID, "someone-else", ans, service.Attempt{}); err != service.ErrLeaseLost {
			t.Errorf("apply without the lease: %v", err)
		}
		pl := f.db.Payload.Query().OnlyX(ctx)
		if pl.Status != "completed" || pl.RemoteReference != "R-1" {
			t.Errorf("payload: %s %q", pl.Status, pl.RemoteReference)
		}
		staff := f.db.Response.GetX(ctx, d.ResponseID)
		if staff.Audit != "Applied." {
			t.Errorf("audit %q, want it once", staff.Audit)
		}
		var finals int
		for _, r := range f.db.Response.Query().AllX(ctx) {
			if bytes.HasPrefix([]byte(r.Content), []byte("Your discount is confirmed")) {
				finals++
			}
		}
		if finals != 1 {
			t.Errorf("%d final responses, want 1", finals)
		}
		if n := f.db.DeliveryAttempt.Query().Where(deliveryattempt.OutcomeEQ(deliveryattempt.OutcomeSuccess)).CountX(ctx); n != 2 {
			t.Errorf("%d successful attempts recorded, want 2", n)
		}
	})
}

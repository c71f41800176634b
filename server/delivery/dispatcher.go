// Package delivery runs the epilog dispatcher: it takes due deliveries from
// the database, calls the remote through package epilog, and records the
// outcome. The delivery row is the source of truth: a dispatcher holds a
// delivery only by a lease written on the row, so a restart, a crash or a
// second replica loses nothing and never sends one attempt twice at once.
//
// Leases are compared with each process's clock: replicas on several hosts
// need synchronised clocks (NTP), with a skew well below Options.Lease.
package delivery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/tickiti/tickiti/ent"
	entdelivery "github.com/tickiti/tickiti/ent/delivery"
	"github.com/tickiti/tickiti/ent/deliveryattempt"
	"github.com/tickiti/tickiti/ent/predicate"
	"github.com/tickiti/tickiti/server/epilog"
	"github.com/tickiti/tickiti/server/service"
)

// DefaultSchedule is when attempts are made, after the previous one failed
// (Svix's schedule): the first at once, the last about a day later.
var DefaultSchedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// Options tune the dispatcher. Zero values take the defaults.
type Options struct {
	// Schedule is the delay before each attempt (default DefaultSchedule),
	// counted from the failure of the previous one; its length is the
	// number of attempts. Up to 10% jitter is added to each delay.
	Schedule []time.Duration
	// Poll is how often the database is checked for due work besides the
	// wake-ups of local submissions (default 500 ms: another replica's
	// submissions start within it).
	Poll time.Duration
	// Lease is how long a claim outlives the attempt's own remote timeout
	// (default 30 s): the time allowed to record the outcome. A replica
	// that dies mid-attempt has its delivery taken over once the remote
	// timeout plus Lease have passed.
	Lease time.Duration
	// Workers bounds concurrent attempts (default 8).
	Workers int
	Logger  *slog.Logger
}

// Dispatcher delivers epilog calls.
type Dispatcher struct {
	svc     *service.Service
	db      *ent.Client
	client  *epilog.Client
	opts    Options
	log     *slog.Logger
	metrics *metrics
}

// New returns a dispatcher for the deliveries of svc.
func New(svc *service.Service, client *epilog.Client, opts Options) *Dispatcher {
	if len(opts.Schedule) == 0 {
		opts.Schedule = DefaultSchedule
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Dispatcher{svc: svc, db: svc.DB().Client, client: client, opts: opts, log: opts.Logger, metrics: newMetrics()}
}

// Run delivers until ctx is done, then waits for attempts in flight: they
// finish (each bounded by its remote timeout) so their outcome is recorded.
func (d *Dispatcher) Run(ctx context.Context) {
	ticker := time.NewTicker(d.opts.Poll)
	defer ticker.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	free := make(chan struct{}, d.opts.Workers)
	for range d.opts.Workers {
		free <- struct{}{}
	}
	finished := make(chan struct{}, d.opts.Workers)
	for {
		for len(free) > 0 && ctx.Err() == nil {
			// A claim runs to its end even if ctx ends meanwhile: a
			// cancelled UPDATE may still have taken the lease, and a lease
			// no one knows they hold keeps the delivery waiting until it
			// expires (and then counts as an interrupted attempt).
			c, err := d.claim(context.WithoutCancel(ctx))
			if err != nil {
				d.log.Error("claim delivery", "err", err)
				break
			}
			if c.id == 0 {
				break
			}
			<-free
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.attempt(context.WithoutCancel(ctx), c)
				free <- struct{}{}
				// A wake-up, not a count: one pending signal is enough, and
				// a full buffer must never block a worker (Run may have
				// returned and be waiting for it).
				select {
				case finished <- struct{}{}:
				default:
				}
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-d.svc.Wake():
		case <-finished:
		case <-ticker.C:
		}
	}
}

// claimed is a delivery this dispatcher holds.
type claimed struct {
	id    int
	token string
	// interrupted: the previous holder's lease expired without an outcome
	// (it crashed or was killed mid-attempt).
	interrupted bool
}

// claim takes the oldest due delivery under a fresh lease. It returns id 0
// when nothing is due.
func (d *Dispatcher) claim(ctx context.Context) (claimed, error) {
	for {
		now := time.Now()
		rows, err := d.db.Delivery.Query().Where(due(now)).
			Order(ent.Asc(entdelivery.FieldNextAttemptAt), ent.Asc(entdelivery.FieldID)).Limit(8).
			Select(entdelivery.FieldID, entdelivery.FieldLeaseToken).All(ctx)
		if err != nil || len(rows) == 0 {
			return claimed{}, err
		}
		token := newToken()
		for _, r := range rows {
			// A conditional UPDATE on the conditions just read: whoever
			// updates first wins; the others see 0 rows (PostgreSQL
			// re-checks the WHERE after waiting for the winner's row lock)
			// and try the next id. The lease token names the claim read,
			// so an expired claim is taken over once only.
			n, err := d.db.Delivery.Update().Where(entdelivery.ID(r.ID), due(now), entdelivery.LeaseToken(r.LeaseToken)).
				SetLeaseUntil(now.Add(d.opts.Lease)).SetLeaseToken(token).Save(ctx)
			if err != nil {
				return claimed{}, err
			}
			if n == 1 {
				return claimed{id: r.ID, token: token, interrupted: r.LeaseToken != ""}, nil
			}
		}
	}
}

// due matches deliveries whose next attempt is due and that no live lease
// holds.
func due(now time.Time) predicate.Delivery {
	return entdelivery.And(
		entdelivery.StateEQ(entdelivery.StatePending),
		entdelivery.NextAttemptAtLTE(now),
		entdelivery.Or(entdelivery.LeaseUntilIsNil(), entdelivery.LeaseUntilLT(now)),
	)
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// attempt makes one attempt of a claimed delivery and records its outcome.
func (d *Dispatcher) attempt(ctx context.Context, c claimed) {
	row, err := d.db.Delivery.Query().Where(entdelivery.ID(c.id)).
		WithPayload(func(q *ent.PayloadQuery) { q.WithIntervention() }).Only(ctx)
	if err != nil {
		d.log.Error("load delivery", "delivery", c.id, "err", err)
		return // the lease expires and the delivery is tried again
	}
	pl := row.Edges.Payload
	iv := pl.Edges.Intervention
	log := d.log.With("delivery", row.DeliveryUID, "ticket_number", service.TicketNumber(pl.TicketID),
		"intervention", iv.Name, "attempt", row.Attempts+1)
	timeout := time.Duration(iv.RemoteTimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = epilog.DefaultTimeout
	}
	// Hold the delivery for the whole call and the recording after it, so
	// no other dispatcher sends it meanwhile. If the claim was lost since
	// (a very slow database), nothing is sent.
	n, err := d.db.Delivery.Update().Where(entdelivery.ID(c.id), entdelivery.LeaseToken(c.token)).
		SetLeaseUntil(time.Now().Add(timeout + d.opts.Lease)).Save(ctx)
	if err != nil || n == 0 {
		log.Warn("delivery lease lost before the call; not sent", "err", err)
		return
	}
	if c.interrupted {
		if err := d.svc.RecordInterrupted(ctx, c.id, c.token); err != nil {
			log.Warn("record interrupted attempt", "err", err)
		}
		d.metrics.attempt(deliveryattempt.OutcomeInterrupted)
		log.Warn("took over a delivery whose previous attempt was interrupted")
	}

	start := time.Now()
	var res epilog.Result
	switch {
	case !iv.RemoteEnabled:
		res = epilog.Result{Class: epilog.Permanent, Err: errors.New("the intervention's remote is disabled")}
	case iv.RemoteEpilogURL == "":
		res = epilog.Result{Class: epilog.Permanent, Err: errors.New("the intervention has no remote epilog URL")}
	default:
		res = d.client.Send(ctx, epilog.Call{
			URL: iv.RemoteEpilogURL, Token: iv.RemoteToken, DeliveryID: row.DeliveryUID,
			Body: row.Body, Timeout: timeout, Secrets: service.SigningSecrets(iv, start),
		})
	}
	a := service.Attempt{Start: start, Duration: res.Duration, Status: res.Status, Body: res.Body, Truncated: res.Truncated}
	if res.Class == epilog.Answered {
		state, err := d.svc.ApplyAnswer(ctx, c.id, c.token, res.Answer, a)
		switch {
		case errors.Is(err, service.ErrLeaseLost):
			log.Warn("delivery taken over by another dispatcher; answer not recorded")
		case err != nil:
			log.Error("record answer", "err", err)
		default:
			outcome := deliveryattempt.OutcomeSuccess
			if state == entdelivery.StateRefused {
				outcome = deliveryattempt.OutcomeRefused
			}
			d.metrics.attempt(outcome)
			log.Info("epilog delivered", "state", state, "status", res.Status, "duration", res.Duration)
		}
		return
	}

	a.Err, a.Outcome = res.Err.Error(), outcomeOf(res.Class)
	attempts := row.Attempts + 1
	var retryAt time.Time
	exhausted := attempts >= len(d.opts.Schedule)
	if res.Class != epilog.Permanent && !exhausted {
		retryAt = time.Now().Add(d.delay(attempts, res.RetryAfter))
	}
	err = d.svc.RecordFailure(ctx, c.id, c.token, a, retryAt)
	switch {
	case errors.Is(err, service.ErrLeaseLost):
		log.Warn("delivery taken over by another dispatcher; attempt not recorded", "err", res.Err)
		return
	case err != nil:
		log.Error("record attempt", "err", err)
		return
	}
	d.metrics.attempt(a.Outcome)
	if !retryAt.IsZero() {
		log.Warn("epilog attempt failed; will retry", "err", res.Err, "status", res.Status, "retry_in", time.Until(retryAt).Round(time.Millisecond))
		return
	}
	d.metrics.failed.Add(1)
	reason := "permanent error"
	if res.Class != epilog.Permanent {
		reason = "attempts exhausted"
	}
	log.Error("epilog delivery failed; staff can redeliver it", "reason", reason, "err", res.Err, "status", res.Status)
}

func outcomeOf(c epilog.Class) deliveryattempt.Outcome {
	switch c {
	case epilog.Permanent:
		return deliveryattempt.OutcomePermanent
	case epilog.Malformed:
		return deliveryattempt.OutcomeInvalidAnswer
	default:
		return deliveryattempt.OutcomeTransient
	}
}

// maxRetryAfter caps how long a remote's Retry-After may postpone a delivery.
const maxRetryAfter = 24 * time.Hour

// delay is the wait before attempt number attempts+1: the schedule's, with
// up to 10% jitter so retries of many deliveries spread out, or the
// remote's Retry-After when that is longer.
func (d *Dispatcher) delay(attempts int, retryAfter time.Duration) time.Duration {
	base := d.opts.Schedule[attempts]
	delay := base + time.Duration(mrand.Int64N(int64(base)/10+1))
	if retryAfter > delay {
		delay = min(retryAfter, maxRetryAfter)
	}
	return delay
}

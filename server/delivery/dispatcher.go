// Package delivery runs the epilog dispatcher: it takes due deliveries from
// the database, calls the remote through package epilog, and records the
// outcome. The delivery row is the source of truth: a dispatcher holds a
// delivery only by a lease written on the row, so a restart, a crash or a
// second replica loses nothing and never sends one attempt twice at once.
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
	// Schedule is the delay before each attempt (default DefaultSchedule);
	// its length is the number of attempts.
	Schedule []time.Duration
	// Poll is how often the database is checked for due work besides the
	// wake-ups of local submissions (default 500 ms: another replica's
	// submissions start within it).
	Poll time.Duration
	// Lease is how long a claimed delivery is held (default 90 s: longer
	// than the longest remote timeout, 60 s).
	Lease time.Duration
	// Workers bounds concurrent attempts (default 8).
	Workers int
	Logger  *slog.Logger
}

// Dispatcher delivers epilog calls.
type Dispatcher struct {
	svc    *service.Service
	db     *ent.Client
	client *epilog.Client
	opts   Options
	log    *slog.Logger
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
		opts.Lease = 90 * time.Second
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Dispatcher{svc: svc, db: svc.DB().Client, client: client, opts: opts, log: opts.Logger}
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
			id, token, err := d.claim(ctx)
			if err != nil {
				if ctx.Err() == nil {
					d.log.Error("claim delivery", "err", err)
				}
				break
			}
			if id == 0 {
				break
			}
			<-free
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.attempt(context.WithoutCancel(ctx), id, token)
				free <- struct{}{}
				finished <- struct{}{}
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

// claim takes the oldest due delivery under a fresh lease. It returns id 0
// when nothing is due.
func (d *Dispatcher) claim(ctx context.Context) (int, string, error) {
	for {
		now := time.Now()
		ids, err := d.db.Delivery.Query().Where(due(now)).
			Order(ent.Asc(entdelivery.FieldNextAttemptAt), ent.Asc(entdelivery.FieldID)).Limit(4).IDs(ctx)
		if err != nil || len(ids) == 0 {
			return 0, "", err
		}
		token := newToken()
		for _, id := range ids {
			// The same conditions again: whoever updates first wins; the
			// others see 0 rows and try the next id.
			n, err := d.db.Delivery.Update().Where(entdelivery.ID(id), due(now)).
				SetLeaseUntil(now.Add(d.opts.Lease)).SetLeaseToken(token).Save(ctx)
			if err != nil {
				return 0, "", err
			}
			if n == 1 {
				return id, token, nil
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
func (d *Dispatcher) attempt(ctx context.Context, id int, token string) {
	row, err := d.db.Delivery.Query().Where(entdelivery.ID(id)).
		WithPayload(func(q *ent.PayloadQuery) { q.WithIntervention() }).Only(ctx)
	if err != nil {
		d.log.Error("load delivery", "delivery", id, "err", err)
		return // the lease expires and the delivery is tried again
	}
	iv := row.Edges.Payload.Edges.Intervention
	log := d.log.With("delivery", row.DeliveryUID, "intervention", iv.Name, "attempt", row.Attempts+1)
	var res epilog.Result
	switch {
	case !iv.RemoteEnabled:
		res = epilog.Result{Class: epilog.Permanent, Err: errors.New("the intervention's remote is disabled")}
	case iv.RemoteEpilogURL == "":
		res = epilog.Result{Class: epilog.Permanent, Err: errors.New("the intervention has no remote epilog URL")}
	default:
		res = d.client.Send(ctx, epilog.Call{
			URL: iv.RemoteEpilogURL, Token: iv.RemoteToken, DeliveryID: row.DeliveryUID,
			Body: row.Body, Timeout: time.Duration(iv.RemoteTimeoutSeconds) * time.Second,
		})
	}
	if res.Class == epilog.Answered {
		state, err := d.svc.ApplyAnswer(ctx, id, token, res.Answer)
		switch {
		case errors.Is(err, service.ErrLeaseLost):
			log.Warn("delivery taken over by another dispatcher; answer not recorded")
		case err != nil:
			log.Error("record answer", "err", err)
		default:
			log.Info("epilog delivered", "state", state, "status", res.Status, "duration", res.Duration)
		}
		return
	}
	attempts := row.Attempts + 1
	upd := d.db.Delivery.Update().Where(entdelivery.ID(id), entdelivery.LeaseToken(token), entdelivery.StateEQ(entdelivery.StatePending)).
		SetAttempts(attempts).ClearLeaseUntil().SetLeaseToken("").SetLastError(res.Err.Error())
	if res.Class == epilog.Permanent || attempts >= len(d.opts.Schedule) {
		upd.SetState(entdelivery.StateFailed)
		log.Error("epilog delivery failed", "err", res.Err, "status", res.Status)
	} else {
		delay := d.delay(attempts, res.RetryAfter)
		upd.SetNextAttemptAt(time.Now().Add(delay))
		log.Warn("epilog attempt failed; will retry", "err", res.Err, "status", res.Status, "retry_in", delay)
	}
	if err := upd.Exec(ctx); err != nil {
		log.Error("record attempt", "err", err)
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

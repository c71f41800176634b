package delivery

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/tickiti/tickiti/ent"
	entdelivery "github.com/tickiti/tickiti/ent/delivery"
	"github.com/tickiti/tickiti/ent/deliveryattempt"
)

// The label values, in the order they are written.
var (
	outcomes = []deliveryattempt.Outcome{deliveryattempt.OutcomeSuccess, deliveryattempt.OutcomeRefused,
		deliveryattempt.OutcomeInvalidAnswer, deliveryattempt.OutcomeTransient, deliveryattempt.OutcomePermanent,
		deliveryattempt.OutcomeInterrupted}
	states = []entdelivery.State{entdelivery.StatePending, entdelivery.StateDelivered, entdelivery.StateCompleted,
		entdelivery.StateRefused, entdelivery.StateFailed}
)

// metrics counts what this process's dispatcher did since it started.
type metrics struct {
	attempts map[deliveryattempt.Outcome]*atomic.Int64 // fixed keys: read-only after newMetrics
	failed   atomic.Int64
}

func newMetrics() *metrics {
	m := &metrics{attempts: map[deliveryattempt.Outcome]*atomic.Int64{}}
	for _, o := range outcomes {
		m.attempts[o] = new(atomic.Int64)
	}
	return m
}

func (m *metrics) attempt(o deliveryattempt.Outcome) { m.attempts[o].Add(1) }

// Failed is how many deliveries this process's dispatcher marked failed
// since it started.
func (d *Dispatcher) Failed() int64 { return d.metrics.failed.Load() }

// MetricsHandler serves the dispatcher's figures in the Prometheus text
// format, written by hand to need no client library: the counters of this
// process, and the number of deliveries in each state in the database,
// which every replica reports alike (alert on tickiti_deliveries{state="failed"}
// growing).
func (d *Dispatcher) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		var byState []struct {
			State string `json:"state"`
			Count int    `json:"count"`
		}
		err := d.db.Delivery.Query().GroupBy(entdelivery.FieldState).Aggregate(ent.Count()).Scan(ctx, &byState)
		if err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		counts := map[string]int{}
		for _, s := range byState {
			counts[s.State] = s.Count
		}
		var b bytes.Buffer
		b.WriteString("# HELP tickiti_delivery_attempts_total Epilog attempts this process made, by outcome.\n")
		b.WriteString("# TYPE tickiti_delivery_attempts_total counter\n")
		for _, o := range outcomes {
			fmt.Fprintf(&b, "tickiti_delivery_attempts_total{outcome=%q} %d\n", o, d.metrics.attempts[o].Load())
		}
		b.WriteString("# HELP tickiti_deliveries_failed_total Deliveries this process marked failed (attempts exhausted or a permanent error).\n")
		b.WriteString("# TYPE tickiti_deliveries_failed_total counter\n")
		fmt.Fprintf(&b, "tickiti_deliveries_failed_total %d\n", d.metrics.failed.Load())
		b.WriteString("# HELP tickiti_deliveries Deliveries in the database, by state.\n")
		b.WriteString("# TYPE tickiti_deliveries gauge\n")
		for _, s := range states {
			fmt.Fprintf(&b, "tickiti_deliveries{state=%q} %d\n", s, counts[string(s)])
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write(b.Bytes())
	})
}

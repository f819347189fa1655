package bot

import (
	"net/http"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the bot's Prometheus metrics, on a registry of their own so
// that tests and several servers in one process do not collide.
type Metrics struct {
	reg             *prometheus.Registry
	requests        *prometheus.CounterVec
	transitions     *prometheus.CounterVec
	outboxDepth     prometheus.Gauge
	deliveryLatency *prometheus.HistogramVec
	slackErrors     *prometheus.CounterVec
	effectsFailed   *prometheus.CounterVec
	deliveryPaused  prometheus.Gauge
	lookups         *prometheus.CounterVec
	hooksDelivered  *prometheus.CounterVec
	hooksFailed     *prometheus.CounterVec
}

// NewMetrics registers the bot's metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handoff_slack_requests_total", Help: "Requests from Slack by kind and outcome.",
		}, []string{"kind", "outcome"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handoff_transitions_total", Help: "Commands run on instances by action and outcome (ok, refused, error).",
		}, []string{"action", "outcome"}),
		outboxDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "handoff_outbox_instances", Help: "Instances with effects waiting for delivery, at the last scan.",
		}),
		deliveryLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "handoff_delivery_latency_seconds", Help: "Time from a transition to the delivery of its effect, by effect kind.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"effect"}),
		slackErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handoff_slack_api_errors_total", Help: "Slack Web API calls that failed, by method and error.",
		}, []string{"method", "error"}),
		effectsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handoff_effects_failed_total",
			Help: "Effects, or single messages of an effect, that Slack refused for good and were given up, by effect kind and Slack error.",
		}, []string{"effect", "error"}),
		deliveryPaused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "handoff_delivery_paused",
			Help: "1 while delivery is paused because Slack refuses the bot token (messages are kept), else 0.",
		}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handoff_delivery_lookups_total",
			Help: "Looks in conversations.history for an earlier post of an effect before posting it, by why (retried, restarted, old) and outcome (found, not_found, failed, skipped).",
		}, []string{"reason", "outcome"}),
		hooksDelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handoff_webhooks_delivered_total", Help: "Webhook events a receiver accepted (2xx), by event.",
		}, []string{"event"}),
		hooksFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handoff_webhooks_failed_total",
			Help: "Webhook events given up (refused for good, or still failing when their retries ran out), by event and error.",
		}, []string{"event", "error"}),
	}
	m.reg.MustRegister(m.requests, m.transitions, m.outboxDepth, m.deliveryLatency, m.slackErrors,
		m.effectsFailed, m.deliveryPaused, m.lookups, m.hooksDelivered, m.hooksFailed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) request(kind, outcome string) { m.requests.WithLabelValues(kind, outcome).Inc() }

func (m *Metrics) transition(a flows.Action, err error) {
	outcome := "ok"
	switch {
	case err == nil:
	case isRefusal(err):
		outcome = "refused"
	default:
		outcome = "error"
	}
	m.transitions.WithLabelValues(string(a), outcome).Inc()
}

func (m *Metrics) delivered(kind flows.EffectKind, latency time.Duration) {
	m.deliveryLatency.WithLabelValues(string(kind)).Observe(latency.Seconds())
}

// slackError counts a failed call by a bounded label: Slack's error code,
// "ratelimited", "http_<status>", "timeout" or "network".
func (m *Metrics) slackError(method string, err error) {
	m.slackErrors.WithLabelValues(method, errorLabel(err)).Inc()
}

func (m *Metrics) effectFailed(kind flows.EffectKind, code string) {
	m.effectsFailed.WithLabelValues(string(kind), code).Inc()
}

func (m *Metrics) paused(on bool) {
	v := 0.0
	if on {
		v = 1
	}
	m.deliveryPaused.Set(v)
}

func (m *Metrics) lookup(reason, outcome string) { m.lookups.WithLabelValues(reason, outcome).Inc() }

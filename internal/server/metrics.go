package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/montool/montool/internal/event"
)

// metrics are the server's own Prometheus metrics, in a registry of its
// own (so that servers in one process, as in tests, do not share them).
type metrics struct {
	registry *prometheus.Registry
	events   *prometheus.CounterVec   // by type and outcome
	rejected *prometheus.CounterVec   // by reason (the error code)
	requests *prometheus.HistogramVec // by route and status
	inFlight prometheus.Gauge
	// Reloads of the configuration: by result, whether the last one
	// succeeded, and when the last success was.
	reloads          *prometheus.CounterVec
	reloadOK         prometheus.Gauge
	reloadOKUnixTime prometheus.Gauge
}

func newMetrics(st Store) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "montool_events_total",
			Help: "Events received, by type and outcome (accepted, duplicate).",
		}, []string{"type", "outcome"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "montool_events_rejected_total",
			Help: "Events refused, by reason: the API's error code.",
		}, []string{"reason"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "montool_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "montool_http_requests_in_flight",
			Help: "HTTP requests being answered.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "montool_config_reloads_total",
			Help: "Reloads of the configuration (SIGHUP, POST /-/reload), by result (success, failure).",
		}, []string{"result"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "montool_config_last_reload_successful",
			Help: "Whether the last reload of the configuration succeeded (1) or failed (0); 1 before any.",
		}),
		reloadOKUnixTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "montool_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration was last loaded successfully, at the start or by a reload, in Unix seconds.",
		}),
	}
	m.reloadOK.Set(1)
	m.reloadOKUnixTime.Set(float64(time.Now().Unix()))
	m.registry.MustRegister(m.events, m.rejected, m.requests, m.inFlight, m.reloads, m.reloadOK, m.reloadOKUnixTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		storeCollector{st})
	if c, ok := st.(MetricsCollector); ok {
		m.registry.MustRegister(c)
	}
	return m
}

// countReload counts a reload of the configuration at now that ended with
// err.
func (m *metrics) countReload(err error, now time.Time) {
	if err != nil {
		m.reloads.WithLabelValues("failure").Inc()
		m.reloadOK.Set(0)
		return
	}
	m.reloads.WithLabelValues("success").Inc()
	m.reloadOK.Set(1)
	m.reloadOKUnixTime.Set(float64(now.Unix()))
}

// countResults counts what became of the events of a request, adding up
// first so that a batch costs a few counter updates, not one an event.
func (m *metrics) countResults(valid []event.Event, results []event.Result) {
	var accepted, duplicates [2]int // by type: CUMULATIVE, TIME-SERIES
	for i, r := range results {
		t := 0
		if valid[i].Type == event.TimeSeries {
			t = 1
		}
		switch {
		case r.Err != nil: // counted by countRefused
		case r.Duplicate:
			duplicates[t]++
		default:
			accepted[t]++
		}
	}
	for t, typ := range [2]event.Type{event.Cumulative, event.TimeSeries} {
		if accepted[t] > 0 {
			m.events.WithLabelValues(typ.String(), "accepted").Add(float64(accepted[t]))
		}
		if duplicates[t] > 0 {
			m.events.WithLabelValues(typ.String(), "duplicate").Add(float64(duplicates[t]))
		}
	}
}

// countRefused counts the rejected events of a request by their error
// code, and returns the counts.
func (m *metrics) countRefused(refused []refusal) map[string]int {
	if len(refused) == 0 {
		return nil
	}
	codes := make(map[string]int)
	for _, r := range refused {
		codes[event.Code(r.err)]++
	}
	for reason, n := range codes {
		m.rejected.WithLabelValues(reason).Add(float64(n))
	}
	return codes
}

// requestInfo is what a handler tells the request log of its request.
type requestInfo struct {
	id              string
	events, clients int
	live            *live // the settings the request started with
}

type requestInfoKey struct{}

// infoOf returns the request's requestInfo, or a throwaway one.
func infoOf(ctx context.Context) *requestInfo {
	if ri, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// observe gives every request an id (its X-Request-Id when it has a
// sensible one, else a new one), echoed in the answer's X-Request-Id;
// times it and counts those in flight for the metrics; and logs it at
// debug level. The route is the pattern the mux matched ("none" for a
// request it did not route).
func (s *Server) observe(h http.Handler) http.Handler {
	m := s.metrics
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		start := time.Now()
		ri := &requestInfo{id: requestID(r.Header.Get("X-Request-Id")), live: s.live.Load()}
		w.Header().Set("X-Request-Id", ri.id)
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, ri))
		h.ServeHTTP(sw, r) // the mux sets r.Pattern
		took := time.Since(start)
		route := r.Pattern
		if route == "" {
			route = "none"
		}
		m.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Observe(took.Seconds())
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			s.log.Debug("request", "id", ri.id, "method", r.Method, "route", route, "status", sw.status,
				"took", took, "events", ri.events, "clients", ri.clients, "remote", r.RemoteAddr)
		}
	})
}

// requestID returns the id a client gave, when it is 1 to 64 letters,
// digits, '-', '_' or '.', else a new random one.
func requestID(given string) string {
	if len(given) > 0 && len(given) <= 64 && strings.IndexFunc(given, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')
	}) < 0 {
		return given
	}
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// handler serves the metrics in the Prometheus exposition format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// statusWriter remembers the status of an answer.
type statusWriter struct {
	http.ResponseWriter
	status  int
	written bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.written {
		w.status, w.written = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// storeCollector reports the size of the store at each scrape.
type storeCollector struct{ st Store }

var (
	clientsDesc = prometheus.NewDesc("montool_store_clients", "Clients the store holds.", nil, nil)
	eventsDesc  = prometheus.NewDesc("montool_store_events", "Events the store holds.", nil, nil)
	bytesDesc   = prometheus.NewDesc("montool_store_bytes", "About how much memory the stored events take, as counted against max_memory.", nil, nil)
	keysDesc    = prometheus.NewDesc("montool_store_keys", "Keys the store holds, over all clients.", nil, nil)
)

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- clientsDesc
	ch <- eventsDesc
	ch <- bytesDesc
	ch <- keysDesc
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	if r, ok := c.st.(Readiness); ok && !r.Ready() {
		return // nothing to tell while loading
	}
	clients, err := c.st.Clients(context.Background())
	if err != nil {
		return
	}
	var events int64
	for _, ci := range clients {
		events += ci.Events
	}
	ch <- prometheus.MustNewConstMetric(clientsDesc, prometheus.GaugeValue, float64(len(clients)))
	ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.GaugeValue, float64(events))
	if b, ok := c.st.(Sizer); ok {
		ch <- prometheus.MustNewConstMetric(bytesDesc, prometheus.GaugeValue, float64(b.Bytes()))
	}
	if k, ok := c.st.(KeyCounter); ok {
		ch <- prometheus.MustNewConstMetric(keysDesc, prometheus.GaugeValue, float64(k.Keys()))
	}
}

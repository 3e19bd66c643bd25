package server

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/montool/montool/internal/event"
)

// handleExportPrometheus serves what the store holds to Prometheus, in its
// exposition format: each client's CUMULATIVE keys as counters and the
// latest sample of each TIME-SERIES key as a gauge, with the labels
// client_id and key. Only the clients the request may read are in it.
func (s *Server) handleExportPrometheus() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg := prometheus.NewRegistry()
		reg.MustRegister(exportCollector{s: s, r: r})
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
	})
}

// exportCollector collects the store for one export request.
type exportCollector struct {
	s *Server
	r *http.Request
}

// Describe describes nothing: the metrics are the store's keys, known only
// when collected (an unchecked collector).
func (exportCollector) Describe(chan<- *prometheus.Desc) {}

func (c exportCollector) Collect(ch chan<- prometheus.Metric) {
	ctx := c.r.Context()
	clients, err := c.s.store.Clients(ctx)
	if err != nil {
		return
	}
	labels := []string{"client_id", "key"}
	descs := map[string]*prometheus.Desc{}
	desc := func(name, help string) *prometheus.Desc {
		if d := descs[name]; d != nil {
			return d
		}
		d := prometheus.NewDesc(name, help, labels, nil)
		descs[name] = d
		return d
	}
	for _, ci := range clients {
		if !mayActFor(ctx, ci.ClientID) {
			continue
		}
		v, err := c.s.store.View(ctx, ci.ClientID)
		if err != nil {
			continue // deleted meanwhile
		}
		for _, sv := range v.Series {
			if sv.Type == event.Cumulative {
				ch <- prometheus.MustNewConstMetric(desc(counterName(sv.Key), "The total of the CUMULATIVE key, by client."),
					prometheus.CounterValue, sv.Total, v.ClientID, sv.Key)
				continue
			}
			if n := sv.Samples.Len(); n > 0 {
				ch <- prometheus.MustNewConstMetric(desc(gaugeName(sv.Key), "The latest sample of the TIME-SERIES key, by client."),
					prometheus.GaugeValue, sv.Samples.At(n-1).Value, v.ClientID, sv.Key)
			}
		}
	}
}

// exportPrefix starts the names of exported keys.
const exportPrefix = "montool_key_"

// counterName is the metric name of a CUMULATIVE key: the key sanitised,
// ending in _total.
func counterName(key string) string {
	return exportPrefix + strings.TrimSuffix(sanitize(key), "_total") + "_total"
}

// gaugeName is the metric name of a TIME-SERIES key: the key sanitised;
// one that would end in _total, as counters do, ends in _gauge instead.
func gaugeName(key string) string {
	name := sanitize(key)
	if strings.HasSuffix(name, "_total") {
		name += "_gauge"
	}
	return exportPrefix + name
}

// sanitize turns a key into the body of a metric name: each byte that is
// not a letter, digit or _ becomes _.
func sanitize(key string) string {
	b := []byte(key)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

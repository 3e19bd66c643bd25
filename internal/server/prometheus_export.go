package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/montool/montool/internal/event"
)

// handleExportPrometheus serves what the store holds to Prometheus, in its
// exposition format: a few metric families of fixed names, each with the
// labels client_id and key, so that a key of any characters is a label
// value (escaped by the format) and never part of a metric name. Only the
// clients the request may read are in it.
func (s *Server) handleExportPrometheus() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg := prometheus.NewRegistry()
		reg.MustRegister(exportCollector{s: s, r: r})
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
	})
}

// exportLabels are the labels of every metric of the export.
var exportLabels = []string{"client_id", "key"}

// The metric families of the export. The key type decides which a key is
// in; the timestamp family holds every key.
var (
	cumulativeTotalDesc = prometheus.NewDesc("montool_cumulative_total",
		"The sum of the values of the events of a CUMULATIVE key, by client and key.", exportLabels, nil)
	cumulativeEventsDesc = prometheus.NewDesc("montool_cumulative_events_total",
		"The events summed into a CUMULATIVE key, by client and key.", exportLabels, nil)
	timeSeriesValueDesc = prometheus.NewDesc("montool_timeseries_value",
		"The value of the latest sample of a TIME-SERIES key, by client and key.", exportLabels, nil)
	lastEventDesc = prometheus.NewDesc("montool_last_event_timestamp_seconds",
		"The Unix time of the latest event of a key (the event's own timestamp), by client and key.", exportLabels, nil)
)

// exportCollector collects the store for one export request.
type exportCollector struct {
	s *Server
	r *http.Request
}

// Describe sends the export's metric families.
func (exportCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cumulativeTotalDesc, cumulativeEventsDesc, timeSeriesValueDesc, lastEventDesc} {
		ch <- d
	}
}

// Collect sends the metrics of each key of each client the request may
// read. A TIME-SERIES key with no samples left has none.
func (c exportCollector) Collect(ch chan<- prometheus.Metric) {
	ctx := c.r.Context()
	clients, err := c.s.store.Clients(ctx)
	if err != nil {
		return
	}
	metric := func(d *prometheus.Desc, t prometheus.ValueType, v float64, clientID, key string) {
		m, err := prometheus.NewConstMetric(d, t, v, clientID, key)
		if err != nil { // a label value that is not UTF-8: the rest is still served
			m = prometheus.NewInvalidMetric(d, err)
		}
		ch <- m
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
				metric(cumulativeTotalDesc, prometheus.CounterValue, sv.Total, v.ClientID, sv.Key)
				metric(cumulativeEventsDesc, prometheus.CounterValue, float64(sv.Count), v.ClientID, sv.Key)
				metric(lastEventDesc, prometheus.GaugeValue, seconds(sv.Last), v.ClientID, sv.Key)
				continue
			}
			if n := sv.Samples.Len(); n > 0 {
				latest := sv.Samples.At(n - 1)
				metric(timeSeriesValueDesc, prometheus.GaugeValue, latest.Value, v.ClientID, sv.Key)
				metric(lastEventDesc, prometheus.GaugeValue, seconds(latest.Timestamp), v.ClientID, sv.Key)
			}
		}
	}
}

// seconds returns ts in Unix seconds.
func seconds(ts event.Timestamp) float64 { return float64(ts) / 1e9 }

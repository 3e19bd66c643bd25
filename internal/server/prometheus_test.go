package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
)

// TestPrometheusScrapesExport starts a real Prometheus server (Debian's
// prometheus package, which .ci/run installs) that scrapes montool's
// export, and checks through Prometheus's own query API that the values it
// sees are those montool holds.
func TestPrometheusScrapesExport(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("MONTOOL_REQUIRE_PROMETHEUS") != "" {
			t.Fatalf("prometheus not found, and MONTOOL_REQUIRE_PROMETHEUS is set: %v", err)
		}
		t.Skip("prometheus is not installed (Debian's prometheus package; .ci/run installs it)")
	}
	m := store.New()
	sec := func(s int64) event.Timestamp { return event.Timestamp(s * 1_000_000_000) }
	if _, err := m.Apply(context.Background(), []event.Event{
		{ClientID: "web-01", ID: "1", Timestamp: sec(1763850000), Type: event.Cumulative, Key: "http.requests_total", Value: 3},
		{ClientID: "web-01", ID: "2", Timestamp: sec(1763850001), Type: event.Cumulative, Key: "http.requests_total", Value: 0.5},
		{ClientID: "db-1", ID: "1", Timestamp: sec(1763850000), Type: event.Cumulative, Key: "http.requests_total", Value: 7},
		{ClientID: "web-01", ID: "3", Timestamp: sec(1763850000), Type: event.TimeSeries, Key: "cpu.usage_percent", Value: 12.5},
		{ClientID: "web-01", ID: "4", Timestamp: sec(1763850060), Type: event.TimeSeries, Key: "cpu.usage_percent", Value: 42.25},
	}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(testConfig(), m, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	target := startServer(t, srv)

	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, fmt.Appendf(nil, `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: montool
    metrics_path: /api/v1/export/prometheus
    static_configs:
      - targets: ['%s']
`, target), 0o600); err != nil {
		t.Fatal(err)
	}
	promAddr := freeLoopbackAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var logs syncBuffer
	cmd := exec.CommandContext(ctx, bin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()

	want := map[string]float64{ // series → value
		`montool_key_http_requests_total{client_id="web-01"}`: 3.5,
		`montool_key_http_requests_total{client_id="db-1"}`:   7,
		`montool_key_cpu_usage_percent{client_id="web-01"}`:   42.25,
	}
	client := &http.Client{Timeout: 5 * time.Second}
	got := map[string]float64{}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		for series := range want {
			if v, ok := queryPrometheus(client, promAddr, series); ok {
				got[series] = v
			}
		}
		if len(got) == len(want) {
			break
		}
	}
	for series, w := range want {
		if v, ok := got[series]; !ok || v != w {
			t.Errorf("Prometheus sees %s = %v (found %v), want %v", series, v, ok, w)
		}
	}
	if t.Failed() {
		t.Logf("prometheus output:\n%s", logs.String())
	}
}

// queryPrometheus asks Prometheus at addr for the value of an instant
// query with one result.
func queryPrometheus(c *http.Client, addr, query string) (float64, bool) {
	resp, err := c.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var answer struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value []any `json:"value"` // [time, "value"]
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || answer.Status != "success" || len(answer.Data.Result) != 1 {
		return 0, false
	}
	s, ok := answer.Data.Result[0].Value[1].(string)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// freeLoopbackAddr returns an address of 127.0.0.1 with a port free now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/montool/montool/internal/agent"
	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/outputtest"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// TestPrometheusScrapesExport holds the keys that `montool agents` sends
// by default, and one key no metric name could hold, for two clients. It
// has promtool lint /metrics and the export (both must lint clean), then
// starts a real Prometheus server that scrapes the export, and checks
// through Prometheus's own query API that the values it sees are those
// montool holds, and that a key is selected by its label. It needs
// Debian's prometheus package (prometheus and promtool), which .ci/run
// installs.
func TestPrometheusScrapesExport(t *testing.T) {
	bins := map[string]string{}
	for _, name := range []string{"prometheus", "promtool"} {
		bin, err := exec.LookPath(name)
		if err != nil {
			if os.Getenv("MONTOOL_REQUIRE_PROMETHEUS") != "" {
				t.Fatalf("%s not found, and MONTOOL_REQUIRE_PROMETHEUS is set: %v", name, err)
			}
			t.Skipf("%s is not installed: it comes with Debian's prometheus package (apt-get install prometheus; .ci/run installs it)", name)
		}
		bins[name] = bin
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	const odd = `say "hi" \ ünï` // a key that is only a label value
	sec := func(s int64) event.Timestamp { return event.Timestamp(s * 1_000_000_000) }
	type series struct{ name, clientID, key string }
	want := map[series]float64{}
	var events []event.Event
	for _, clientID := range []string{"web-01", "db-1"} {
		add := func(ts int64, typ event.Type, key string, v float64) {
			events = append(events, event.Event{ClientID: clientID, ID: strconv.Itoa(len(events)), Timestamp: sec(ts), Type: typ, Key: key, Value: v})
		}
		for _, k := range append(agent.DefaultKeys(), agent.KeySpec{Name: odd, Type: event.Cumulative, Min: 0.25, Max: 3}) {
			add(1763850000, k.Type, k.Name, k.Min)
			add(1763850060, k.Type, k.Name, k.Max)
			if k.Type == event.Cumulative {
				want[series{"montool_cumulative_total", clientID, k.Name}] = k.Min + k.Max
				want[series{"montool_cumulative_events_total", clientID, k.Name}] = 2
			} else {
				want[series{"montool_timeseries_value", clientID, k.Name}] = k.Max
			}
			want[series{"montool_last_event_timestamp_seconds", clientID, k.Name}] = 1763850060
		}
	}
	m := storetest.New(t, store.Policy{})
	if _, err := m.Apply(ctx, events); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(testConfig(), m, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	target := startServer(t, srv)
	client := &http.Client{Timeout: 5 * time.Second}

	for _, path := range []string{"/metrics", "/api/v1/export/prometheus"} {
		lintMetrics(ctx, t, client, bins["promtool"], "http://"+target+path)
	}

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
	logs := outputtest.New()
	cmd := exec.CommandContext(ctx, bins["prometheus"], "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()

	// Every series of the export, and the odd key selected by its label as
	// a Grafana user would.
	all := `{__name__=~"montool_.+"}`
	selected := `montool_cumulative_total{client_id="web-01",key=` + strconv.Quote(odd) + `}`
	var got, gotSelected []promSample
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		got, _ = queryPrometheus(client, promAddr, all)
		gotSelected, _ = queryPrometheus(client, promAddr, selected)
		if len(got) >= len(want) && len(gotSelected) > 0 {
			break
		}
	}
	seen := map[series]float64{}
	for _, s := range got {
		seen[series{s.Metric["__name__"], s.Metric["client_id"], s.Metric["key"]}] = s.Value
	}
	for s, w := range want {
		if v, ok := seen[s]; !ok || v != w {
			t.Errorf("Prometheus sees %s{client_id=%q,key=%q} = %v (found %v), want %v", s.name, s.clientID, s.key, v, ok, w)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("Prometheus sees %d series of montool_*, want %d: %v", len(seen), len(want), seen)
	}
	if len(gotSelected) != 1 || gotSelected[0].Value != 3.25 {
		t.Errorf("Prometheus answers %s with %v, want one series of 3.25", selected, gotSelected)
	}
	if t.Failed() {
		t.Logf("prometheus output:\n%s", logs.String())
	}
}

// lintMetrics fetches the exposition at url and has promtool check it: any
// output, or a failure, fails t.
func lintMetrics(ctx context.Context, t *testing.T, c *http.Client, promtool, url string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics of %s: %v\n%s\nthe exposition:\n%s", url, err, out, body)
	}
}

// promSample is one series of the answer to an instant query.
type promSample struct {
	Metric map[string]string
	Value  float64
}

// queryPrometheus asks Prometheus at addr for the series of an instant
// query.
func queryPrometheus(c *http.Client, addr, query string) ([]promSample, error) {
	resp, err := c.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var answer struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"` // [time, "value"]
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, err
	}
	if answer.Status != "success" {
		return nil, fmt.Errorf("query %s: status %q", query, answer.Status)
	}
	samples := make([]promSample, 0, len(answer.Data.Result))
	for _, r := range answer.Data.Result {
		s, ok := r.Value[1].(string)
		if !ok {
			return nil, fmt.Errorf("query %s: value %v", query, r.Value)
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", query, err)
		}
		samples = append(samples, promSample{Metric: r.Metric, Value: v})
	}
	return samples, nil
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

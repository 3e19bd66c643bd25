package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/outputtest"
)

// listeningRE finds the bound address in the "montool listening" log line.
var listeningRE = regexp.MustCompile(`montool listening.*addr=(\S+)`)

// running is a command running in a goroutine.
type running struct {
	finished chan struct{} // closed when the command has returned
	err      error         // what it returned; read after finished is closed
}

// wait returns the result of the command, or fails after timeout.
func (r *running) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-r.finished:
		return r.err
	case <-time.After(timeout):
		t.Fatalf("command still running after %s", timeout)
		return nil
	}
}

// startServe runs the real `montool serve` with args in a goroutine and
// returns its standard error, the running command and a function that
// cancels its context. The command is stopped when the test ends.
func startServe(t *testing.T, args ...string) (*outputtest.Buffer, *running, context.CancelFunc) {
	t.Helper()
	stderr := outputtest.New()
	cmd := newRootCmd(runners{})
	cmd.SetArgs(append([]string{"serve"}, args...))
	cmd.SetOut(io.Discard)
	cmd.SetErr(stderr)
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{finished: make(chan struct{})}
	go func() {
		defer close(r.finished)
		r.err = cmd.ExecuteContext(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.finished:
		case <-time.After(10 * time.Second):
			t.Error("serve still running 10s after its context ended")
		}
	})
	return stderr, r, cancel
}

func TestServeRunsAndStops(t *testing.T) {
	isolate(t)
	stderr, srv, cancel := startServe(t, "--addr", "127.0.0.1:0")
	addr := stderr.WaitFor(t, listeningRE, 10*time.Second, nil)[1]
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("logged address %q: %v", addr, err)
	}
	if host != "127.0.0.1" || port == "0" {
		t.Errorf("logged address %q, want 127.0.0.1 and the port bound", addr)
	}

	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: status %d, want 200", resp.StatusCode)
	}
	var health map[string]string
	if err := json.Unmarshal(body, &health); err != nil || health["status"] != "ok" {
		t.Errorf("GET /healthz: body %q, want {\"status\":\"ok\"}", body)
	}

	cancel()
	if err := srv.wait(t, 10*time.Second); err != nil {
		t.Errorf("serve returned %v after its context ended, want nil", err)
	}
	if !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("serve did not log that it stopped:\n%s", stderr.String())
	}
}

func TestServeLogsJSON(t *testing.T) {
	isolate(t)
	stderr, _, _ := startServe(t, "--addr", "127.0.0.1:0", "--log-format", "json")
	line := stderr.WaitFor(t, regexp.MustCompile(`(?m)^.*montool listening.*$`), 10*time.Second, nil)[0]
	var rec struct {
		Msg  string `json:"msg"`
		Addr string `json:"addr"`
	}
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("log line is not JSON: %v\n%s", err, line)
	}
	if rec.Msg != "montool listening" || !strings.HasPrefix(rec.Addr, "127.0.0.1:") {
		t.Errorf("log record = %+v, want msg \"montool listening\" and a 127.0.0.1 address", rec)
	}
}

func TestServeErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyAddr := busy.Addr().String()
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "address in use", args: []string{"--addr", busyAddr}, wantErr: busyAddr},
		{name: "address without a port", args: []string{"--addr", "127.0.0.1"}, wantErr: "127.0.0.1"},
		{name: "empty address", args: []string{"--addr", ""}, wantErr: "address"},
		{name: "zero max body bytes", args: []string{"--addr", "127.0.0.1:0", "--max-body-bytes", "0"}, wantErr: "max body bytes"},
		{name: "negative max batch events", args: []string{"--addr", "127.0.0.1:0", "--max-batch-events", "-1"}, wantErr: "max batch events"},
		{name: "negative shutdown timeout", args: []string{"--addr", "127.0.0.1:0", "--shutdown-timeout", "-1s"}, wantErr: "shutdown timeout"},
		{name: "fsync sometimes", args: []string{"--addr", "127.0.0.1:0", "--fsync", "sometimes"}, wantErr: `fsync mode "sometimes": want always, interval or never`},
		{name: "zero fsync interval", args: []string{"--addr", "127.0.0.1:0", "--fsync", "interval", "--fsync-interval", "0s"}, wantErr: "--fsync-interval must be positive, not 0s"},
		{name: "negative snapshot interval", args: []string{"--addr", "127.0.0.1:0", "--snapshot-interval", "-1m"}, wantErr: "--snapshot-interval must not be negative, not -1m0s"},
		{name: "data dir that is a file", args: []string{"--addr", "127.0.0.1:0", "--data-dir", notADir}, wantErr: "data directory " + notADir},
		{name: "negative max clients", args: []string{"--addr", "127.0.0.1:0", "--max-clients", "-1"}, wantErr: "--max-clients must not be negative, not -1"},
		{name: "body memory under one largest body", args: []string{"--addr", "127.0.0.1:0", "--max-body-memory", "1MiB"}, wantErr: "--max-body-memory (1048576 bytes) must be at least --max-body-bytes (8388608)"},
		{name: "max keys per client past the most", args: []string{"--addr", "127.0.0.1:0", "--max-keys-per-client", "65537"}, wantErr: "--max-keys-per-client must be from 0 to 65536, not 65537"},
		{name: "max memory not a size", args: []string{"--addr", "127.0.0.1:0", "--max-memory", "lots"}, wantErr: `--max-memory|"lots"|number of bytes`},
		{name: "negative client ttl", args: []string{"--addr", "127.0.0.1:0", "--client-ttl", "-1h"}, wantErr: "--client-ttl must not be negative, not -1h0m0s"},
		{name: "negative retention", args: []string{"--addr", "127.0.0.1:0", "--retention", "-24h"}, wantErr: "--retention must not be negative, not -24h0m0s"},
		{name: "debug address in use", args: []string{"--addr", "127.0.0.1:0", "--debug-addr", busyAddr}, wantErr: "--debug-addr"},
		{name: "negative rate limit", args: []string{"--addr", "127.0.0.1:0", "--rate-limit", "-1"}, wantErr: "rate limit must be a number of events a second from 0, not -1"},
		{name: "negative rate burst", args: []string{"--addr", "127.0.0.1:0", "--rate-burst", "-1"}, wantErr: "rate burst must not be negative, not -1"},
		{name: "negative max in flight", args: []string{"--addr", "127.0.0.1:0", "--max-in-flight", "-1"}, wantErr: "max in-flight requests must not be negative, not -1"},
		{name: "TLS certificate without key", args: []string{"--addr", "127.0.0.1:0", "--tls-cert", notADir}, wantErr: "--tls-cert needs --tls-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			_, srv, _ := startServe(t, tt.args...)
			checkErr(t, srv.wait(t, 10*time.Second), tt.wantErr)
		})
	}
}

// TestServeForgetsIdleClients runs serve with a client TTL of a second: a
// client that sends nothing is forgotten within a few seconds, and says so
// in the log, while one that keeps sending stays.
func TestServeForgetsIdleClients(t *testing.T) {
	for _, durableMode := range []bool{false, true} {
		t.Run(fmt.Sprintf("durable %v", durableMode), func(t *testing.T) {
			isolate(t)
			args := []string{"--addr", "127.0.0.1:0", "--client-ttl", "1s"}
			if durableMode {
				args = append(args, "--data-dir", t.TempDir())
			}
			stderr, _, _ := startServe(t, args...)
			base := "http://" + stderr.WaitFor(t, listeningRE, 10*time.Second, nil)[1]
			client := &http.Client{Timeout: 5 * time.Second}
			send := func(clientID, eventID string) {
				t.Helper()
				body := fmt.Sprintf(`{"client_id":%q,"event_id":%q,"event_timestamp":1763850000,"event_type":"CUMULATIVE","event_key":"n","event_value":1}`, clientID, eventID)
				for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
					resp, err := client.Post(base+"/api/v1/events", "application/json", strings.NewReader(body))
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode/100 == 2 {
						return
					}
					if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
						t.Fatalf("POST: status %d", resp.StatusCode)
					}
				}
			}
			status := func(clientID string) int {
				t.Helper()
				resp, err := client.Get(base + "/api/v1/clients/" + clientID + "/events")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			send("idle", "e1")
			send("busy", "e1")
			deadline := time.Now().Add(10 * time.Second)
			for i := 0; status("idle") != http.StatusNotFound; i++ {
				if time.Now().After(deadline) {
					t.Fatal("the idle client is still there 10 s on, with a TTL of 1 s")
				}
				send("busy", fmt.Sprintf("e%d", i+2)) // keeps busy seen
				time.Sleep(100 * time.Millisecond)
			}
			if got := status("busy"); got != http.StatusOK {
				t.Errorf("the busy client: dump status %d, want 200", got)
			}
			stderr.WaitFor(t, regexp.MustCompile(`forgot an idle client.*client_id=idle`), 5*time.Second, nil)
		})
	}
}

// TestServeDebugAddr serves the profiler apart from the API, and only
// with --debug-addr.
func TestServeDebugAddr(t *testing.T) {
	isolate(t)
	stderr, _, _ := startServe(t, "--addr", "127.0.0.1:0", "--debug-addr", "127.0.0.1:0")
	debug := stderr.WaitFor(t, regexp.MustCompile(`profiler listening.*addr=(\S+)`), 10*time.Second, nil)[1]
	api := stderr.WaitFor(t, listeningRE, 10*time.Second, nil)[1]
	client := &http.Client{Timeout: 5 * time.Second}
	for _, tt := range []struct {
		url  string
		want int
	}{
		{"http://" + debug + "/debug/pprof/", http.StatusOK},
		{"http://" + debug + "/debug/pprof/goroutine?debug=1", http.StatusOK},
		{"http://" + api + "/debug/pprof/", http.StatusNotFound},
	} {
		resp, err := client.Get(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("GET %s: status %d, want %d", tt.url, resp.StatusCode, tt.want)
		}
	}
}

// TestServeDebugAddrLoopbackOnly runs serve with profiler addresses: a host
// name is served where it resolves when that is loopback, and an address of
// every interface is refused before anything listens.
func TestServeDebugAddrLoopbackOnly(t *testing.T) {
	t.Run("localhost", func(t *testing.T) {
		isolate(t)
		stderr, _, _ := startServe(t, "--addr", "127.0.0.1:0", "--debug-addr", "localhost:0")
		debug := stderr.WaitFor(t, regexp.MustCompile(`profiler listening.*addr=(\S+)`), 10*time.Second, nil)[1]
		host, _, err := net.SplitHostPort(debug)
		if err != nil {
			t.Fatal(err)
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			t.Errorf("the profiler listens on %s, want a loopback address", debug)
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + debug + "/debug/pprof/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /debug/pprof/: status %d, want 200", resp.StatusCode)
		}
		if strings.Contains(stderr.String(), "level=WARN msg=\"the profiler") {
			t.Errorf("a warning for a loopback profiler:\n%s", stderr)
		}
	})
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0"} {
		t.Run(addr, func(t *testing.T) {
			isolate(t)
			stderr, srv, _ := startServe(t, "--addr", "127.0.0.1:0", "--debug-addr", addr)
			checkErr(t, srv.wait(t, 10*time.Second), "is not a loopback address|--insecure-debug-addr")
			if strings.Contains(stderr.String(), "listening") {
				t.Errorf("something listened before the address was refused:\n%s", stderr)
			}
		})
	}
}

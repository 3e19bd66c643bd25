package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/outputtest"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// running is a server started with Server.Run on a loopback listener.
type running struct {
	addr   string
	store  server.Store
	cancel context.CancelFunc
	done   chan error // receives what Run returned
}

// startRun runs a server with cfg on 127.0.0.1 until the test ends.
func startRun(t *testing.T, cfg server.Config, log *slog.Logger) *running {
	t.Helper()
	st := storetest.New(t, store.Policy{})
	srv, err := server.New(cfg, st, log)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{addr: ln.Addr().String(), store: st, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- srv.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			t.Errorf("Run did not return within 15s of the end of the test")
		}
	})
	return r
}

// waitReturn waits up to limit for Run to return and returns its error.
func (r *running) waitReturn(t *testing.T, limit time.Duration) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(limit):
		t.Fatalf("Run did not return within %s", limit)
		return nil
	}
}

// waitHealthy polls /healthz until it answers 200, a bounded number of
// times.
func waitHealthy(t *testing.T, addr string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	const attempts = 50
	var last string
	for range attempts {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		<-time.After(20 * time.Millisecond)
	}
	t.Fatalf("GET /healthz on %s failed %d times; last: %s", addr, attempts, last)
}

// waitRefused dials addr until a connection is refused, a bounded number of
// times, and fails the test if none is.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	const attempts = 200
	for range attempts {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		conn.Close()
		<-time.After(10 * time.Millisecond)
	}
	t.Fatalf("%s still accepts connections after %d attempts", addr, attempts)
}

func TestRunDisconnectsSlowHeaders(t *testing.T) {
	t.Parallel()
	cfg := server.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	r := startRun(t, cfg, discardLogger())
	waitHealthy(t, r.addr)

	conn, err := net.DialTimeout("tcp", r.addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\n"); err != nil {
		t.Fatalf("write request line: %v", err)
	}
	// The reader sees the end of the connection, or its deadline when the
	// server never hangs up.
	closed := make(chan error, 1)
	go func() {
		conn.SetReadDeadline(start.Add(12 * time.Second))
		_, err := io.Copy(io.Discard, conn)
		closed <- err
	}()

	const header = "Host: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa"
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for sent := 0; ; {
		select {
		case err := <-closed:
			elapsed := time.Since(start)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("connection still open after %s and %d header bytes", elapsed.Round(time.Millisecond), sent)
			}
			if elapsed > 10*time.Second {
				t.Errorf("disconnected after %s, want within 10s", elapsed.Round(time.Millisecond))
			}
			t.Logf("disconnected after %s and %d header bytes (read error: %v)", elapsed.Round(time.Millisecond), sent, err)
			return
		case <-tick.C:
			if sent == len(header) {
				t.Fatalf("sent all %d header bytes without being disconnected", sent)
			}
			// An error means the server hung up; the reader will tell.
			conn.Write([]byte{header[sent]})
			sent++
		}
	}
}

func TestRunGracefulShutdown(t *testing.T) {
	t.Parallel()
	logs := outputtest.New()
	r := startRun(t, testConfig(), slog.New(slog.NewTextHandler(logs, nil)))
	waitHealthy(t, r.addr)

	// A POST whose body is streamed: it is in flight until the body ends.
	// It asks for "100 Continue", which the server sends when the handler
	// starts reading the body: then the request is surely in flight.
	pr, pw := io.Pipe()
	defer pw.Close()
	handling := make(chan struct{})
	trace := &httptrace.ClientTrace{Got100Continue: func() { close(handling) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
		http.MethodPost, "http://"+r.addr+"/api/v1/events", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Expect", "100-continue")
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{ExpectContinueTimeout: 15 * time.Second}}
	defer client.CloseIdleConnections()
	type result struct {
		status int
		body   []byte
		err    error
	}
	answered := make(chan result, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			answered <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		answered <- result{status: resp.StatusCode, body: body, err: err}
	}()
	select {
	case <-handling:
	case res := <-answered:
		t.Fatalf("request answered before its body was sent: %+v", res)
	case <-time.After(10 * time.Second):
		t.Fatal("no 100 Continue within 10s: the handler did not start")
	}

	r.cancel()
	// The listener closes when the shutdown begins.
	waitRefused(t, r.addr)
	select {
	case err := <-r.done:
		t.Fatalf("Run returned %v while a request was in flight", err)
	case res := <-answered:
		t.Fatalf("request answered before its body ended: %+v", res)
	default:
	}

	// Finish the body slowly, after the shutdown began.
	if _, err := io.WriteString(pw, "["+cum("agent-1", "e1", ts0, "requests", 1)+","); err != nil {
		t.Fatalf("writing the body: %v", err)
	}
	if _, err := io.WriteString(pw, cum("agent-1", "e2", ts1, "requests", 2)+"]"); err != nil {
		t.Fatalf("writing the body: %v", err)
	}
	pw.Close()

	select {
	case res := <-answered:
		if res.err != nil {
			t.Fatalf("in-flight request failed: %v", res.err)
		}
		wantStatus(t, res.status, http.StatusAccepted)
		var got ingestResponse
		if err := json.Unmarshal(res.body, &got); err != nil {
			t.Fatalf("answer %q: %v", res.body, err)
		}
		wantSummary(t, got, 2, 0, 0)
	case <-time.After(15 * time.Second):
		t.Fatal("in-flight request not answered within 15s")
	}

	if err := r.waitReturn(t, 10*time.Second); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if conn, err := net.DialTimeout("tcp", r.addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("a new connection was accepted after Run returned")
	}

	// The request's events were applied.
	v, err := r.store.View(context.Background(), "agent-1")
	if err != nil {
		t.Fatalf("store view: %v", err)
	}
	d := v.Dump()
	if len(d.Series) != 1 || d.Series[0].Key != "requests" || d.Series[0].Type != event.Cumulative || d.Series[0].Count != 2 || d.Series[0].Total != 3 {
		t.Errorf("store holds %+v, want requests = 3 over 2 events", d.Series)
	}
	if l := logs.String(); strings.Contains(l, "level=ERROR") {
		t.Errorf("errors logged:\n%s", l)
	}
}

func TestRunWithContextAlreadyCancelled(t *testing.T) {
	srv, err := server.New(testConfig(), storetest.New(t, store.Policy{}), discardLogger())
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return within 2s of a cancelled context")
	}
	if conn, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		conn.Close()
		t.Errorf("listener still accepts connections after Run returned")
	}
}

func TestRunReturnsErrorWhenServingFails(t *testing.T) {
	srv, err := server.New(testConfig(), storetest.New(t, store.Policy{}), discardLogger())
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("Run on a closed listener = nil, want an error")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run on a closed listener did not return within 2s")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*server.Config)
		wantErr bool
	}{
		{"default", func(*server.Config) {}, false},
		{"loopback address", func(c *server.Config) { c.Addr = "127.0.0.1:0" }, false},
		{"small limits", func(c *server.Config) { c.MaxBodyBytes, c.MaxBatchEvents = 1, 1 }, false},
		{"empty address", func(c *server.Config) { c.Addr = "" }, true},
		{"zero max body bytes", func(c *server.Config) { c.MaxBodyBytes = 0 }, true},
		{"negative max body bytes", func(c *server.Config) { c.MaxBodyBytes = -1 }, true},
		{"zero max batch events", func(c *server.Config) { c.MaxBatchEvents = 0 }, true},
		{"negative max batch events", func(c *server.Config) { c.MaxBatchEvents = -5 }, true},
		{"zero read-header timeout", func(c *server.Config) { c.ReadHeaderTimeout = 0 }, true},
		{"negative read-header timeout", func(c *server.Config) { c.ReadHeaderTimeout = -time.Second }, true},
		{"zero read timeout", func(c *server.Config) { c.ReadTimeout = 0 }, true},
		{"negative read timeout", func(c *server.Config) { c.ReadTimeout = -time.Second }, true},
		{"zero write timeout", func(c *server.Config) { c.WriteTimeout = 0 }, true},
		{"negative write timeout", func(c *server.Config) { c.WriteTimeout = -time.Second }, true},
		{"zero idle timeout", func(c *server.Config) { c.IdleTimeout = 0 }, true},
		{"negative idle timeout", func(c *server.Config) { c.IdleTimeout = -time.Second }, true},
		{"negative shutdown timeout", func(c *server.Config) { c.ShutdownTimeout = -time.Second }, true},
		{"body memory of one largest body", func(c *server.Config) { c.MaxBodyMemory = c.MaxBodyBytes }, false},
		{"body memory under one largest body", func(c *server.Config) { c.MaxBodyMemory = c.MaxBodyBytes - 1 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := server.DefaultConfig()
			tt.change(&cfg)
			err := cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error: %v", err, tt.wantErr)
			}
			srv, err := server.New(cfg, storetest.New(t, store.Policy{}), discardLogger())
			if (err != nil) != tt.wantErr {
				t.Errorf("New() error = %v, want error: %v", err, tt.wantErr)
			}
			if tt.wantErr && srv != nil {
				t.Errorf("New() returned a server for an invalid config")
			}
			if !tt.wantErr && srv == nil {
				t.Errorf("New() returned no server for a valid config")
			}
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := server.DefaultConfig()
	if cfg.MaxBodyBytes != 8<<20 {
		t.Errorf("MaxBodyBytes = %d, want 8 MiB (%d)", cfg.MaxBodyBytes, 8<<20)
	}
	if cfg.MaxBatchEvents != 10_000 {
		t.Errorf("MaxBatchEvents = %d, want 10000", cfg.MaxBatchEvents)
	}
	if cfg.ReadHeaderTimeout <= 0 || cfg.ReadHeaderTimeout >= 10*time.Second {
		t.Errorf("ReadHeaderTimeout = %s, want a positive bound under 10s", cfg.ReadHeaderTimeout)
	}
}

// TestRunAnswersATricklingBody sends a body more slowly than the read
// timeout lets it: the server answers 408 with a JSON error, instead of
// dropping the connection without a word.
func TestRunAnswersATricklingBody(t *testing.T) {
	t.Parallel()
	cfg := server.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.ReadTimeout = 500 * time.Millisecond
	r := startRun(t, cfg, discardLogger())
	waitHealthy(t, r.addr)

	conn, err := net.DialTimeout("tcp", r.addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	body := series("agent-1", "e1", ts0, "k", 1)
	if _, err := fmt.Fprintf(conn, "POST /api/v1/events HTTP/1.1\r\nHost: montool\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body)); err != nil {
		t.Fatalf("write headers: %v", err)
	}
	answered := make(chan *http.Response, 1)
	go func() {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Errorf("no answer: %v", err)
			resp = nil
		}
		answered <- resp
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for sent := 0; ; sent++ {
		select {
		case resp := <-answered:
			if resp == nil {
				return
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(raw), `"code":"request_timeout"`) {
				t.Fatalf("answer %d %s, want 408 request_timeout", resp.StatusCode, raw)
			}
			if sent >= len(body) {
				t.Errorf("answered only once the whole body had come")
			}
			return
		case <-tick.C:
			if sent < len(body) {
				conn.Write([]byte{body[sent]}) // an error means the server hung up; the reader tells
			}
		}
	}
}

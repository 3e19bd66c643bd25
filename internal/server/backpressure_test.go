package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// TestRateLimit floods the server with one client's events: past its
// burst they are refused whole, with Retry-After, and nothing of a refused
// request is stored, while another client's events still get through.
func TestRateLimit(t *testing.T) {
	cfg := testConfig()
	cfg.RateLimit, cfg.RateBurst = 1, 20 // a trickle after the burst
	m := storetest.New(t, store.Policy{})
	a := newAPIWith(t, cfg, m)
	accepted, refused := 0, 0
	for i := range 30 { // a flood: 10 events a request
		var events []string
		for j := range 10 {
			events = append(events, cum("flood", fmt.Sprintf("e%d-%d", i, j), ts0, "requests", 1))
		}
		r := a.postRaw(batch(events...), "application/json")
		switch r.status {
		case http.StatusAccepted:
			accepted++
		case http.StatusTooManyRequests:
			refused++
			if e := decodeError(t, r); e.Code != "rate_limited" {
				t.Errorf("error code %q, want rate_limited", e.Code)
			}
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("Retry-After = %q, want a whole number of seconds from 1", r.header.Get("Retry-After"))
			}
		default:
			t.Fatalf("status %d; body %s", r.status, r.body)
		}
	}
	if accepted != 2 || refused != 28 {
		t.Errorf("%d requests taken and %d refused, want the burst's 2 and 28", accepted, refused)
	}
	if d, _ := a.dump("flood"); d.Events["requests"] == nil {
		t.Fatalf("dump of flood: %+v", d)
	}
	if got := storedEvents(t, a, "flood"); got != 20 {
		t.Errorf("flood holds %d events, want the 20 of the requests taken", got)
	}
	// Another client has its own bucket.
	if status, _ := a.post(cum("quiet", "e1", ts0, "requests", 1)); status != http.StatusAccepted {
		t.Errorf("another client during the flood: status %d, want 202", status)
	}
}

// storedEvents returns the number of events the client list gives a client.
func storedEvents(t *testing.T, a *api, clientID string) int64 {
	t.Helper()
	for _, c := range a.clients() {
		if c.ClientID == clientID {
			return c.EventCount
		}
	}
	return 0
}

// TestMaxInFlight fills the one slot of MaxInFlight with a request whose
// body is still coming: another request gets 503 with Retry-After at once,
// and once the first is done the next one is taken.
func TestMaxInFlight(t *testing.T) {
	cfg := testConfig()
	cfg.MaxInFlight = 1
	srv, err := server.New(cfg, storetest.New(t, store.Policy{}), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	r := startServer(t, srv)
	body := cum("agent-1", "e1", ts0, "requests", 1)
	conn, err := net.Dial("tcp", r)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers and half the body: the handler waits in its read.
	fmt.Fprintf(conn, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:len(body)/2])

	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := client.Post("http://"+r+"/api/v1/events", "application/json", strings.NewReader(cum("agent-2", "e1", ts0, "requests", 1)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			if resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			break
		}
		if time.Now().After(deadline) { // the slow request may not have reached the handler yet
			t.Fatalf("status %d with a request in flight and a bound of 1, want 503", resp.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprint(conn, body[len(body)/2:])
	buf := make([]byte, 512)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(buf); err != nil || string(buf[:12]) != "HTTP/1.1 202" {
		t.Fatalf("the slow request: %q, %v; want a 202", buf[:n], err)
	}
	resp, err := client.Post("http://"+r+"/api/v1/events", "application/json", strings.NewReader(cum("agent-3", "e1", ts0, "requests", 1)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("after the slot is free: status %d, want 202", resp.StatusCode)
	}
}

// TestIdleConnectionsDoNotBlock opens 1,000 connections that never send a
// byte: a normal client is still served.
func TestIdleConnectionsDoNotBlock(t *testing.T) {
	srv, err := server.New(testConfig(), storetest.New(t, store.Policy{}), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	r := startServer(t, srv)
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for range 1000 {
		c, err := net.Dial("tcp", r)
		if err != nil {
			t.Fatalf("idle connection %d: %v", len(idle), err)
		}
		idle = append(idle, c)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	start := time.Now()
	resp, err := client.Post("http://"+r+"/api/v1/events", "application/json", strings.NewReader(cum("agent-1", "e1", ts0, "requests", 1)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("status %d with 1,000 idle connections, want 202", resp.StatusCode)
	}
	t.Logf("served in %s with 1,000 idle connections open", time.Since(start).Round(time.Millisecond))
}

// startServer runs srv on a free port of 127.0.0.1 until the test ends and
// returns its address.
func startServer(t *testing.T, srv *server.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ln.Addr().String()
}

package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/montool/montool/internal/auth"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// TestReloadEndpoint checks POST /-/reload: it runs the configured reload,
// takes an admin token granted all clients, answers 400 invalid_config
// when the reload fails, and counts each outcome in /metrics.
func TestReloadEndpoint(t *testing.T) {
	s := newSecrets()
	cfg := testConfig()
	cfg.Tokens = s.tokenSet(t)
	var calls atomic.Int32
	fail := errors.New(`config montool.yaml: serve.max_clients: "lots" is not a number`)
	cfg.Reload = func(context.Context) error {
		if calls.Add(1) == 2 {
			return fail
		}
		return nil
	}
	a := newAPIWith(t, cfg, storetest.New(t, store.Policy{}))

	tests := []struct {
		name       string
		token      string
		wantStatus int
		wantCode   string
		wantCalls  int32
	}{
		{name: "no token", wantStatus: http.StatusUnauthorized, wantCode: "unauthorized"},
		{name: "an ingest token", token: s.ingestWeb, wantStatus: http.StatusForbidden, wantCode: "forbidden"},
		{name: "an admin token granted some clients", token: s.adminWeb, wantStatus: http.StatusForbidden, wantCode: "forbidden"},
		{name: "the admin token", token: s.admin, wantStatus: http.StatusOK, wantCalls: 1},
		{name: "a config that does not validate", token: s.admin, wantStatus: http.StatusBadRequest, wantCode: "invalid_config", wantCalls: 2},
		{name: "the admin token again", token: s.admin, wantStatus: http.StatusOK, wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.doAs(tt.token, http.MethodPost, "/-/reload", "")
			wantStatus(t, r.status, tt.wantStatus)
			checkJSONContentType(t, r)
			if tt.wantCode != "" {
				e := decodeError(t, r)
				if e.Code != tt.wantCode {
					t.Errorf("code %q, want %q", e.Code, tt.wantCode)
				}
				if tt.wantCode == "invalid_config" && !strings.Contains(e.Message, fail.Error()) {
					t.Errorf("message %q does not say why: %q", e.Message, fail)
				}
			}
			if tt.wantCalls != 0 && calls.Load() != tt.wantCalls {
				t.Errorf("the reload ran %d times, want %d", calls.Load(), tt.wantCalls)
			}
		})
	}
	metrics := string(a.doAs(s.admin, http.MethodGet, "/metrics", "").body)
	for _, want := range []string{
		`montool_config_reloads_total{result="success"} 2`,
		`montool_config_reloads_total{result="failure"} 1`,
		"montool_config_last_reload_successful 1",
		"montool_config_last_reload_success_timestamp_seconds ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics has no %q", want)
		}
	}
}

// TestReloadWithoutConfig checks that a server given no reload says so.
func TestReloadWithoutConfig(t *testing.T) {
	a := newDefaultAPI(t)
	r := a.do(http.MethodPost, "/-/reload", nil, nil)
	wantStatus(t, r.status, http.StatusBadRequest)
	if e := decodeError(t, r); !strings.Contains(e.Message, "no configuration file") {
		t.Errorf("message %q, want one that says there is nothing to reload", e.Message)
	}
}

// waitInFlight polls the metrics until n requests are in flight.
func waitInFlight(t *testing.T, a *api, n int) {
	t.Helper()
	want := "montool_http_requests_in_flight " + strconv.Itoa(n) + "\n"
	for range 500 {
		if strings.Contains(string(a.get("/metrics").body), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("never %d requests in flight", n)
}

// TestApplyKeepsInFlightSettings starts a request in open mode, applies
// tokens and a rate limit of one event a second while its body is still
// coming, and checks that it finishes with the settings it started with,
// while a new request meets the new ones.
func TestApplyKeepsInFlightSettings(t *testing.T) {
	srv, err := server.New(testConfig(), storetest.New(t, store.Policy{}), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	a := newAPIFor(t, srv)
	admin := auth.NewSecret()
	tokens, err := auth.NewSet([]auth.Token{{Name: "admin", Hash: auth.Hash(admin), Role: auth.RoleAdmin, Clients: []string{"*"}}})
	if err != nil {
		t.Fatal(err)
	}

	// A request whose body comes in two halves: the server begins it with
	// the first.
	body := batch(series("agent-1", "e1", ts0, "k", 1), series("agent-1", "e2", ts1, "k", 2), series("agent-1", "e3", ts1+1, "k", 3))
	half := len(body) / 2
	conn, err := net.Dial("tcp", strings.TrimPrefix(a.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/events HTTP/1.1\r\nHost: montool\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:half])
	waitInFlight(t, a, 2) // it, and the request that asks
	if err := srv.Apply(server.Settings{Tokens: tokens, RateLimit: 1, RateBurst: 1}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if r := a.postRaw(series("agent-2", "e1", ts0, "k", 1), "application/json"); r.status != http.StatusUnauthorized {
		t.Errorf("a new request without a token after Apply: status %d, want 401", r.status)
	}
	io.WriteString(conn, body[half:])
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request in flight got no answer: %v", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(raw), `"accepted":3`) {
		t.Errorf("the request in flight: %d %s, want its 3 events taken under the settings it started with", resp.StatusCode, raw)
	}
	// The rate limit lets one event a second through: the first request
	// takes the burst, the second is refused.
	a.doAs(admin, http.MethodPost, "/api/v1/events", series("agent-3", "e1", ts0, "k", 1))
	if r := a.doAs(admin, http.MethodPost, "/api/v1/events", series("agent-3", "e2", ts1, "k", 1)); r.status != http.StatusTooManyRequests {
		t.Errorf("a second event of one client past a rate limit of 1 a second: status %d, want 429", r.status)
	}
	if err := srv.Apply(server.Settings{RateLimit: -1}); err == nil {
		t.Error("Apply took a negative rate limit")
	}
}

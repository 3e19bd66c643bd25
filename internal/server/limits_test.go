package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// newLimitedAPI starts a server over a store with limits.
func newLimitedAPI(t *testing.T, l store.Limits) *api {
	t.Helper()
	m := storetest.New(t, store.Policy{Limits: l})
	return newAPIWith(t, testConfig(), m)
}

func TestLimitsAnswers(t *testing.T) {
	tests := []struct {
		name         string
		limits       store.Limits
		setup        string // accepted first
		body         string
		wantStatus   int
		wantCode     string // of the request's error
		wantAccepted int
		wantCodes    []string // of the items rejected, in order
	}{
		{
			name:   "a new client past max clients",
			limits: store.Limits{MaxClients: 1},
			setup:  cum("agent-1", "e1", ts0, "requests", 1),
			body:   batch(cum("agent-1", "e2", ts1, "requests", 1), cum("agent-2", "e1", ts0, "requests", 1)),
			// agent-1's event is taken, agent-2's refused.
			wantStatus: http.StatusTooManyRequests, wantCode: "limit_exceeded", wantAccepted: 1,
			wantCodes: []string{"limit_exceeded"},
		},
		{
			name:       "a new key past max keys per client",
			limits:     store.Limits{MaxKeysPerClient: 1},
			setup:      cum("agent-1", "e1", ts0, "requests", 1),
			body:       cum("agent-1", "e2", ts0, "errors", 1),
			wantStatus: http.StatusTooManyRequests, wantCode: "limit_exceeded",
			wantCodes: []string{"limit_exceeded"},
		},
		{
			name:       "a new event past max memory",
			limits:     store.Limits{MaxBytes: 600}, // less than one client with an event takes
			setup:      cum("agent-1", "e1", ts0, "requests", 1),
			body:       cum("agent-1", "e2", ts1, "requests", 1),
			wantStatus: http.StatusInsufficientStorage, wantCode: "insufficient_storage",
			wantCodes: []string{"insufficient_storage"},
		},
		{
			name:   "storage full comes before a limit and a conflict",
			limits: store.Limits{MaxBytes: 600, MaxClients: 1},
			setup:  cum("agent-1", "e1", ts0, "requests", 1),
			body: batch(cum("agent-1", "e1", ts0, "requests", 9), cum("agent-2", "e1", ts0, "requests", 1),
				cum("agent-1", "e3", ts1, "requests", 1)),
			wantStatus: http.StatusInsufficientStorage, wantCode: "insufficient_storage",
			wantCodes: []string{"conflict", "limit_exceeded", "insufficient_storage"},
		},
		{
			name:   "a duplicate is found past every limit",
			limits: store.Limits{MaxBytes: 600, MaxClients: 1, MaxKeysPerClient: 1},
			setup:  cum("agent-1", "e1", ts0, "requests", 1),
			body:   cum("agent-1", "e1", ts0, "requests", 1),
			// 200, all duplicates
			wantStatus: http.StatusOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newLimitedAPI(t, tt.limits)
			if status, _ := a.post(tt.setup); status != http.StatusAccepted {
				t.Fatalf("setup: status %d, want 202", status)
			}
			status, resp := a.post(tt.body)
			wantStatus(t, status, tt.wantStatus)
			if resp.Accepted != tt.wantAccepted {
				t.Errorf("accepted = %d, want %d", resp.Accepted, tt.wantAccepted)
			}
			if tt.wantCode != "" && (resp.Error == nil || resp.Error.Code != tt.wantCode) {
				t.Errorf("error = %+v, want code %q", resp.Error, tt.wantCode)
			}
			if resp.Error != nil && resp.Error.Message == "internal server error" {
				t.Errorf("error message hidden: %+v", resp.Error)
			}
			var codes []string
			for _, e := range resp.Errors {
				codes = append(codes, e.Code)
			}
			if len(codes) != len(tt.wantCodes) {
				t.Fatalf("item error codes = %v, want %v", codes, tt.wantCodes)
			}
			for i := range codes {
				if codes[i] != tt.wantCodes[i] {
					t.Errorf("item error codes = %v, want %v", codes, tt.wantCodes)
					break
				}
			}
		})
	}
}

// TestTooOld posts events past the store's retention: each is refused with
// too_old, and the request is a 400 even when others were taken.
func TestTooOld(t *testing.T) {
	m := storetest.New(t, store.Policy{Retention: time.Hour})
	a := newAPIWith(t, testConfig(), m)
	now := time.Now().Unix()
	old := now - 2*3600
	status, resp := a.post(batch(cum("agent-1", "e1", now, "requests", 1), cum("agent-1", "e2", old, "requests", 1)))
	wantStatus(t, status, http.StatusBadRequest)
	if resp.Accepted != 1 || resp.Rejected != 1 || len(resp.Errors) != 1 || resp.Errors[0].Code != "too_old" || resp.Errors[0].Index != 1 {
		t.Errorf("answer %+v, want e1 accepted and e2 refused as too_old", resp)
	}
	if resp.Error == nil || resp.Error.Code != "too_old" {
		t.Errorf("error = %+v, want code too_old", resp.Error)
	}
}

// TestBuiltInKeysLimit fills one client with as many keys as a client can
// have: the next key is refused as a limit (429), like one past
// max_keys_per_client, and nothing of it is kept.
func TestBuiltInKeysLimit(t *testing.T) {
	a := newDefaultAPI(t)
	const perRequest = 8192
	for first := 0; first < store.MaxKeysPerClient; first += perRequest {
		events := make([]string, 0, perRequest)
		for k := first; k < first+perRequest; k++ {
			events = append(events, cum("agent-1", fmt.Sprint("e", k), ts0, fmt.Sprint("key-", k), 1))
		}
		if status, resp := a.post(batch(events...)); status != http.StatusAccepted || resp.Accepted != perRequest {
			t.Fatalf("keys %d and on: status %d, %+v", first, status, resp)
		}
	}
	status, resp := a.post(cum("agent-1", "one-more", ts0, "one-more-key", 1))
	wantStatus(t, status, http.StatusTooManyRequests)
	if resp.Error == nil || resp.Error.Code != "limit_exceeded" || len(resp.Errors) != 1 || resp.Errors[0].Field != "event_key" {
		t.Errorf("answer %+v (%+v), want limit_exceeded on event_key", resp, resp.Error)
	}
	d, _ := a.dump("agent-1")
	if n := len(keysOf(d)); n != store.MaxKeysPerClient {
		t.Errorf("the client has %d keys, want %d", n, store.MaxKeysPerClient)
	}
}

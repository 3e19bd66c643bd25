package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// TestAuthMessages: a missing token, one of another scheme and one the
// server does not know each get a 401 that says which; a 403 names every
// role that may do what was asked.
func TestAuthMessages(t *testing.T) {
	a, s := newTokenAPI(t, storetest.New(t, store.Policy{}))
	tests := []struct {
		name   string
		header string // the Authorization header; "" sends none
		method string
		path   string
		status int
		want   []string
		not    []string
	}{
		{"no token", "", http.MethodGet, "/api/v1/clients", 401, []string{"no token", "Authorization: Bearer TOKEN"}, []string{"not one of"}},
		{"another scheme", "Basic eDp5", http.MethodGet, "/api/v1/clients", 401, []string{"Bearer", "not Basic"}, nil},
		{"a wrong token", "Bearer mt_wrong", http.MethodGet, "/api/v1/clients", 401, []string{"not one of this server's tokens"}, []string{"mt_wrong"}},
		{"ingest reading", "Bearer " + s.ingestWeb, http.MethodGet, "/api/v1/clients", 403, []string{"role ingest", "role read or admin"}, nil},
		{"read deleting", "Bearer " + s.readWeb01, http.MethodDelete, "/api/v1/clients/web-01", 403, []string{"role read", "takes role admin"}, []string{"read or admin"}},
		{"read sending", "Bearer " + s.readWeb01, http.MethodPost, "/api/v1/events", 403, []string{"role read", "role ingest or admin"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.header != "" {
				h["Authorization"] = tt.header
			}
			body := ""
			if tt.method == http.MethodPost {
				body = cum("web-01", "m1", ts0, "requests", 1)
				h["Content-Type"] = "application/json"
			}
			r := a.do(tt.method, tt.path, strings.NewReader(body), h)
			wantStatus(t, r.status, tt.status)
			msg := decodeError(t, r).Message
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not say %q", msg, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(msg, n) {
					t.Errorf("message %q says %q", msg, n)
				}
			}
		})
	}
}

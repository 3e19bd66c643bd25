package server_test

import (
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/montool/montool/internal/outputtest"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// TestRequestIDAndLog checks the X-Request-Id of every answer and the
// debug line of every request.
func TestRequestIDAndLog(t *testing.T) {
	logs := outputtest.New()
	srv, err := server.New(testConfig(), storetest.New(t, store.Policy{}), slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	addr := startServer(t, srv)
	body := batch(cum("agent-1", "e1", ts0, "requests", 1), cum("agent-1", "e2", ts0, "requests", 1), cum("agent-2", "e1", ts0, "requests", 1))
	tests := []struct {
		name, given string
		want        *regexp.Regexp
	}{
		{"given", "abc-123.X_y", regexp.MustCompile(`^abc-123\.X_y$`)},
		{"none", "", regexp.MustCompile(`^[0-9a-f]{16}$`)},
		{"not sensible", "a b<script>", regexp.MustCompile(`^[0-9a-f]{16}$`)},
		{"too long", strings.Repeat("a", 65), regexp.MustCompile(`^[0-9a-f]{16}$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/events", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.given != "" {
				req.Header.Set("X-Request-Id", tt.given)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			id := resp.Header.Get("X-Request-Id")
			if !tt.want.MatchString(id) {
				t.Fatalf("X-Request-Id = %q, want one matching %s", id, tt.want)
			}
			line := regexp.MustCompile(`level=DEBUG msg=request id=` + regexp.QuoteMeta(id) + ` method=POST route="POST /api/v1/events" status=(202|200) took=\S+ events=3 clients=2 remote=127\.0\.0\.1:\d+`)
			if !line.MatchString(logs.String()) {
				t.Errorf("no debug line for request %s in the log:\n%s", id, logs.String())
			}
		})
	}
}

package cmd

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/montool/montool/internal/auth"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// TestAgentsAllRejected: agents whose every event is rejected, by a token
// not granted their client ids, print why and fail.
func TestAgentsAllRejected(t *testing.T) {
	isolate(t)
	secret := auth.NewSecret()
	tokens, err := auth.NewSet([]auth.Token{{Name: "web", Hash: auth.Hash(secret), Role: auth.RoleIngest, Clients: []string{"web-*"}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.Tokens = tokens
	srv, err := server.New(cfg, storetest.NewMemory(t, store.Policy{}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	stdout, _, err := execute(t, runners{}, "agents", "--server", ts.URL, "--token", secret, "--client-prefix", "lab-",
		"--count", "2", "--rate", "20", "--duration", "300ms")
	checkOneLine(t, err, "2 agents", "none of their events accepted", "forbidden")
	if !regexp.MustCompile(`(?m)^rejected \(forbidden\): this token may not write events of this client$`).MatchString(stdout) {
		t.Errorf("the summary gives no reason for the rejections:\n%s", stdout)
	}
	if n := strings.Count(stdout, "rejected (forbidden)"); n != 1 {
		t.Errorf("the reason is printed %d times, want once for the fleet:\n%s", n, stdout)
	}
}

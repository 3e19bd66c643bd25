package cmd

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/agent"
	"github.com/montool/montool/internal/apiclient"
	"github.com/montool/montool/internal/auth"
	"github.com/montool/montool/internal/outputtest"
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

// TestAgentsProgressSaysUnreachable: while the server is down the
// progress line says for how long, and that the agents retry.
func TestAgentsProgressSaysUnreachable(t *testing.T) {
	c, err := apiclient.New(closedServerURL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := agent.DefaultConfig()
	cfg.Count, cfg.Rate = 2, 20
	cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	fleet, err := agent.NewFleet(cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- fleet.Run(ctx) }()
	out := outputtest.New()
	stop := showProgress(out, fleet, time.Now())
	out.WaitFor(t, regexp.MustCompile(`server unreachable for [0-9]+s, retrying`), 10*time.Second, nil)
	stop()
	cancel()
	<-done
}

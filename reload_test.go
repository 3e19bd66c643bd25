package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/montool/montool/internal/auth"
)

// TestReloadConfig runs `montool serve --config FILE`, changes the file and
// sends SIGHUP, or POST /-/reload: the tokens and limits change at once, a
// file that does not validate is refused with the settings in force kept,
// a setting that takes a restart is said to, and the server goes on until
// SIGTERM.
func TestReloadConfig(t *testing.T) {
	r := newRunner(t)
	c := newTestClient()
	defer c.CloseIdleConnections()
	config := filepath.Join(t.TempDir(), "montool.yaml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	admin := auth.NewSecret()
	hash := auth.Hash(admin)
	tokens := fmt.Sprintf("tokens:\n  - name: admin\n    sha256: %s\n    role: admin\n    clients: [\"*\"]\n", hex.EncodeToString(hash[:]))

	write("serve:\n  max_clients: 1\n")
	p := r.serve(t, "--config", config)
	p.waitListening(t)
	postAt := func(token, client string, at time.Time) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, p.url+"/api/v1/events", strings.NewReader(fmt.Sprintf(
			`{"client_id":%q,"event_id":"e-%d","event_timestamp":%d,"event_type":"CUMULATIVE","event_key":"n","event_value":1}`,
			client, time.Now().UnixNano(), at.Unix())))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	post := func(token, client string) int {
		t.Helper()
		return postAt(token, client, time.Now())
	}
	hangup := func(want *regexp.Regexp) {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		p.stderr.WaitFor(t, want, 10*time.Second, p.exited)
	}

	if got := post("", "agent-1"); got != http.StatusAccepted {
		t.Fatalf("the first client: status %d, want 202", got)
	}
	if got := post("", "agent-2"); got != http.StatusTooManyRequests {
		t.Fatalf("a second client past max_clients 1: status %d, want 429", got)
	}

	// serve.addr is set by --addr, which wins over the file; serve.
	// max_batch_events is set by nothing else, and takes a restart.
	write("serve:\n  max_clients: 5\n  retention: 1h\n  addr: 127.0.0.1:1\n  max_batch_events: 500\n" + tokens)
	hangup(regexp.MustCompile(`msg="reloaded the configuration"`))
	if !regexp.MustCompile(`takes a restart.*key=serve.max_batch_events`).MatchString(p.stderr.String()) || strings.Contains(p.stderr.String(), "key=serve.addr") {
		t.Errorf("want a warning that serve.max_batch_events takes a restart, and none of serve.addr (--addr wins):\n%s", p.stderr.String())
	}
	if got := post("", "agent-2"); got != http.StatusUnauthorized {
		t.Errorf("no token once tokens are configured: status %d, want 401", got)
	}
	if got := post(admin, "agent-2"); got != http.StatusAccepted {
		t.Errorf("a second client with max_clients 5 and the token: status %d, want 202", got)
	}
	if got := postAt(admin, "agent-2", time.Now().Add(-2*time.Hour)); got != http.StatusBadRequest {
		t.Errorf("an event 2h old with retention 1h: status %d, want 400", got)
	}

	write("serve:\n  max_clients: lots\n")
	hangup(regexp.MustCompile(`reloading the configuration failed`))
	if got := post(admin, "agent-3"); got != http.StatusAccepted {
		t.Errorf("after a reload that failed, the token in force: status %d, want 202", got)
	}

	write("serve:\n  max_clients: 5\n" + tokens)
	req, _ := http.NewRequest(http.MethodPost, p.url+"/-/reload", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST /-/reload: %d %s, want 200", resp.StatusCode, body)
	}
	p.stderr.WaitFor(t, regexp.MustCompile(`(?s)msg="reloaded the configuration".*msg="reloaded the configuration"`), 10*time.Second, p.exited)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(t, 20*time.Second); code != 0 {
		t.Errorf("serve exited %d after SIGTERM, want 0; stderr:\n%s", code, p.stderr.String())
	}
}

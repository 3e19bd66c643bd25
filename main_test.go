package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/montool/montool/internal/outputtest"
)

// TestEndToEnd builds the montool binary and runs it as a user would: a
// server, a fleet of agents against it, and a dump of each agent's data.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	bin := buildBinary(t)

	// Every run gets an empty home, config dir and working directory, and
	// no MONTOOL_* variable, so no config file of the machine is read.
	home := t.TempDir()
	workdir := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != "HOME" && name != "XDG_CONFIG_HOME" && !strings.HasPrefix(name, "MONTOOL_") {
			env = append(env, kv)
		}
	}
	command := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Dir = workdir
		cmd.Env = env
		return cmd
	}

	// Start the server and read its address from its log.
	serve := command("serve", "--addr", "127.0.0.1:0")
	serveErr := outputtest.New()
	serve.Stderr = serveErr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var serveWaitErr error
	go func() {
		serveWaitErr = serve.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			serve.Process.Kill()
			<-exited
		}
	})
	m := serveErr.WaitFor(t, regexp.MustCompile(`montool listening.*addr=(\S+)`), 10*time.Second, exited)
	url := "http://" + m[1]

	// Run the agents.
	agentsOut, agentsErr, code := runCmd(t, command("agents", "--count", "5", "--rate", "10", "--duration", "2s", "--server", url))
	if code != 0 {
		t.Fatalf("agents exited %d\nstdout:\n%s\nstderr:\n%s", code, agentsOut, agentsErr)
	}
	started := regexp.MustCompile(`(?m)^agent \d+ started: client_id (\S+)$`).FindAllStringSubmatch(agentsOut, -1)
	if len(started) != 5 {
		t.Fatalf("agents printed %d client ids, want 5:\n%s", len(started), agentsOut)
	}
	accepted := acceptedByClient(t, agentsOut)

	// Dump each agent's data.
	for _, s := range started {
		id := s[1]
		t.Run("dump "+id, func(t *testing.T) {
			out, errOut, code := runCmd(t, command("dump", id, "--server", url))
			if code != 0 {
				t.Fatalf("dump exited %d: %s", code, errOut)
			}
			n := checkDump(t, id, out)
			want, ok := accepted[id]
			if !ok {
				t.Fatalf("no summary row for %s:\n%s", id, agentsOut)
			}
			if n != want {
				t.Errorf("dump holds %d events, the agents' summary says %d were accepted", n, want)
			}
		})
	}

	// Dump an unknown client.
	out, errOut, code := runCmd(t, command("dump", "no-such-client", "--server", url))
	if code != 1 {
		t.Errorf("dump of an unknown client exited %d, want 1", code)
	}
	if out != "" {
		t.Errorf("dump of an unknown client printed %q on stdout, want nothing", out)
	}
	if strings.Count(errOut, "\n") != 1 || !strings.HasSuffix(errOut, "\n") {
		t.Errorf("dump of an unknown client wrote %q on stderr, want one line", errOut)
	}
	if !strings.Contains(errOut, "no-such-client") || !strings.Contains(errOut, "404") {
		t.Errorf("stderr %q does not name the client and the 404", errOut)
	}

	// Stop the server.
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("serve still running 10s after SIGTERM; stderr:\n%s", serveErr.String())
	}
	if serveWaitErr != nil {
		t.Errorf("serve exited with %v after SIGTERM, want exit code 0; stderr:\n%s", serveWaitErr, serveErr.String())
	}
	if !strings.Contains(serveErr.String(), "stopped") {
		t.Errorf("serve did not log \"stopped\":\n%s", serveErr.String())
	}
}

// buildBinary builds montool into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	// go test puts the go command of its GOROOT first on PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build the binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "montool")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runCmd runs cmd to its end (at most 30 s) and returns its output and exit code.
func runCmd(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	if !timer.Stop() {
		t.Fatalf("%s killed after 30s", strings.Join(cmd.Args, " "))
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	default:
		t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// acceptedByClient reads the ACCEPTED column of the agents' summary table.
func acceptedByClient(t *testing.T, out string) map[string]int {
	t.Helper()
	accepted := map[string]int{}
	col := -1
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "AGENT" {
			for i, name := range f {
				if name == "ACCEPTED" {
					col = i
				}
			}
			continue
		}
		if col < 0 || len(f) != 8 { // not in the table, or the total row (no client id)
			continue
		}
		n, err := strconv.Atoi(f[col])
		if err != nil {
			t.Fatalf("ACCEPTED %q is not a number in %q", f[col], line)
		}
		accepted[f[1]] = n
	}
	if col < 0 {
		t.Fatalf("no summary table with an ACCEPTED column:\n%s", out)
	}
	return accepted
}

// defaultKeys are the keys agents report without a configured key set, with
// their types.
var defaultKeys = map[string]string{
	"cpu_usage_percent":   "TIME-SERIES",
	"memory_used_bytes":   "TIME-SERIES",
	"request_latency_ms":  "TIME-SERIES",
	"http_requests_total": "CUMULATIVE",
	"errors_total":        "CUMULATIVE",
	"bytes_sent_total":    "CUMULATIVE",
}

// checkDump checks one client's dump and returns how many events it holds.
func checkDump(t *testing.T, id, out string) int {
	t.Helper()
	var d struct {
		ClientID string                     `json:"client_id"`
		Events   map[string]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("dump is not JSON: %v\n%s", err, out)
	}
	if d.ClientID != id {
		t.Errorf("client_id = %q, want %q", d.ClientID, id)
	}
	type ev struct {
		ClientID  string      `json:"client_id"`
		Type      string      `json:"event_type"`
		Key       string      `json:"event_key"`
		Count     int         `json:"event_count"`
		Timestamp json.Number `json:"event_timestamp"`
	}
	n := 0
	for key, raw := range d.Events {
		typ, ok := defaultKeys[key]
		if !ok {
			t.Errorf("key %q is not a default key", key)
			continue
		}
		switch typ {
		case "CUMULATIVE":
			var e ev
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Errorf("key %s: not a total object: %v", key, err)
				continue
			}
			if e.ClientID != id || e.Type != typ || e.Key != key || e.Count < 1 {
				t.Errorf("key %s: total %+v", key, e)
			}
			n += e.Count
		case "TIME-SERIES":
			var list []ev
			if err := json.Unmarshal(raw, &list); err != nil {
				t.Errorf("key %s: not an array of events: %v", key, err)
				continue
			}
			var prev int64 = -1
			for i, e := range list {
				if e.ClientID != id || e.Type != typ || e.Key != key {
					t.Errorf("key %s: event %d is %+v", key, i, e)
				}
				ns := nanos(t, e.Timestamp)
				if ns < prev {
					t.Errorf("key %s: event %d at %s comes after a later one", key, i, e.Timestamp)
				}
				prev = ns
			}
			n += len(list)
		}
	}
	return n
}

// nanos reads a timestamp in Unix seconds, such as 1763850001.123456789,
// exactly.
func nanos(t *testing.T, ts json.Number) int64 {
	t.Helper()
	secs, frac, _ := strings.Cut(string(ts), ".")
	s, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || len(frac) > 9 {
		t.Fatalf("timestamp %q is not Unix seconds", ts)
	}
	var f int64
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64); err != nil {
			t.Fatalf("timestamp %q is not Unix seconds", ts)
		}
	}
	return s*1e9 + f
}

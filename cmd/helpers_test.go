package cmd

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// testdataDir is the absolute path of testdata, taken before any test
// changes the working directory.
var testdataDir = func() string {
	dir, err := filepath.Abs("testdata")
	if err != nil {
		panic(err)
	}
	return dir
}()

// testdata returns the absolute path of a file under testdata.
func testdata(name string) string { return filepath.Join(testdataDir, name) }

// isolate shields a test from the configuration of the machine: HOME and
// XDG_CONFIG_HOME point at an empty temporary directory, no MONTOOL_*
// variable is set, and the working directory is another empty temporary
// directory (so no ./montool.yaml is found). It returns that directory.
func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	names := []string{
		"MONTOOL_CONFIG", "MONTOOL_SERVER", "MONTOOL_LOG_LEVEL", "MONTOOL_LOG_FORMAT", "MONTOOL_CLIENT_ID",
		"MONTOOL_SERVE_ADDR", "MONTOOL_SERVE_MAX_BODY_BYTES", "MONTOOL_SERVE_MAX_BODY_MEMORY", "MONTOOL_SERVE_MAX_BATCH_EVENTS", "MONTOOL_SERVE_SHUTDOWN_TIMEOUT",
		"MONTOOL_SERVE_DATA_DIR", "MONTOOL_SERVE_FSYNC", "MONTOOL_SERVE_FSYNC_INTERVAL", "MONTOOL_SERVE_SNAPSHOT_INTERVAL",
		"MONTOOL_SERVE_MAX_CLIENTS", "MONTOOL_SERVE_MAX_KEYS_PER_CLIENT", "MONTOOL_SERVE_MAX_MEMORY",
		"MONTOOL_SERVE_CLIENT_TTL", "MONTOOL_SERVE_RETENTION",
		"MONTOOL_SERVE_RATE_LIMIT", "MONTOOL_SERVE_RATE_BURST", "MONTOOL_SERVE_MAX_IN_FLIGHT",
		"MONTOOL_AGENTS_COUNT", "MONTOOL_AGENTS_RATE", "MONTOOL_AGENTS_DURATION", "MONTOOL_KEYS",
	}
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "MONTOOL_") {
			names = append(names, name)
		}
	}
	for _, name := range names {
		t.Setenv(name, "") // restores the old value when the test ends
		if err := os.Unsetenv(name); err != nil {
			t.Fatal(err)
		}
	}
	wd := t.TempDir()
	t.Chdir(wd)
	return wd
}

// captured records the options each command resolved to, instead of
// running the command.
type captured struct {
	serve  *serveOptions
	agents *agentsOptions
	send   *sendOptions
	dump   *dumpOptions
	calls  int
}

func (c *captured) runners() runners {
	return runners{
		serve:  func(_ context.Context, o *serveOptions) error { c.serve = o; c.calls++; return nil },
		agents: func(_ context.Context, o *agentsOptions) error { c.agents = o; c.calls++; return nil },
		send:   func(_ context.Context, o *sendOptions) error { c.send = o; c.calls++; return nil },
		dump:   func(_ context.Context, o *dumpOptions) error { c.dump = o; c.calls++; return nil },
	}
}

// execute runs the root command built with r on args and returns what it
// wrote to its standard output and error.
func execute(t *testing.T, r runners, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd(r)
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// resolve runs the command line with every command replaced by a capture,
// and returns what was captured.
func resolve(t *testing.T, args ...string) (*captured, error) {
	t.Helper()
	c := &captured{}
	_, _, err := execute(t, c.runners(), args...)
	return c, err
}

// checkErr checks that err is nil when wantErr is empty, and otherwise that
// it is an error containing each of the "|"-separated parts of wantErr.
func checkErr(t *testing.T, err error, wantErr string) {
	t.Helper()
	if wantErr == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got no error, want one containing %q", wantErr)
	}
	for part := range strings.SplitSeq(wantErr, "|") {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not contain %q", err, part)
		}
	}
}

// newTestServer starts a real montool HTTP server over a fresh store and
// returns its URL and the store.
func newTestServer(t *testing.T) (string, *store.Memory) {
	t.Helper()
	st := storetest.NewMemory(t, store.Policy{})
	srv, err := server.New(server.DefaultConfig(), st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL, st
}

// closedServerURL returns the URL of a loopback server that is no longer
// listening.
func closedServerURL(t *testing.T) string {
	t.Helper()
	ts := httptest.NewServer(http.NotFoundHandler())
	u := ts.URL
	ts.Close()
	return u
}

// checkShowsNoControls fails t when out holds a rune a terminal may act on
// or hide rather than show: anything not printable but a space and a line
// feed, or bytes that are not UTF-8.
func checkShowsNoControls(t *testing.T, out string) {
	t.Helper()
	for i, r := range out {
		if r == '\n' || r == ' ' {
			continue
		}
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			t.Errorf("output holds %+q at byte %d:\n%s", r, i, out)
			return
		}
	}
}

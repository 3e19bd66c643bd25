package redistest_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/redistest"
)

func TestSingleSurvivesKillOnlyWithAppendOnly(t *testing.T) {
	tests := []struct {
		name string
		opts redistest.Options
		want any // GET k after Kill and Start
	}{
		{"no persistence", redistest.Options{}, nil},
		{"append-only file", redistest.Options{AppendOnly: true}, "v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := redistest.SingleWith(t, tt.opts)
			do(t, s.Addr(), "SET", "k", "v")
			s.Kill()
			if s.Running() {
				t.Fatal("Running() = true after Kill")
			}
			if _, err := redistest.Do(s.Addr(), "PING"); err == nil {
				t.Fatal("PING answered after Kill")
			}
			s.Start()
			if got := do(t, s.Addr(), "PING"); got != "PONG" {
				t.Errorf("PING = %v, want PONG", got)
			}
			if got := do(t, s.Addr(), "GET", "k"); got != tt.want {
				t.Errorf("GET k after Kill and Start = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestSingleStopsAtCleanup(t *testing.T) {
	var addr string
	t.Run("server", func(t *testing.T) {
		addr = redistest.Single(t).Addr()
	})
	if _, err := redistest.Do(addr, "PING"); err == nil {
		t.Errorf("the server on %s still answers after its test ended", addr)
	}
}

func TestMissingRedisSkips(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("MONTOOL_REQUIRE_REDIS", "")
	for name, start := range map[string]func(t *testing.T){
		"Single":     func(t *testing.T) { redistest.Single(t) },
		"NewCluster": func(t *testing.T) { redistest.NewCluster(t, 3, 0) },
	} {
		var skipped bool
		t.Run(name, func(t *testing.T) {
			defer func() { skipped = t.Skipped() }()
			start(t)
		})
		if !skipped {
			t.Errorf("%s without redis-server on PATH did not skip", name)
		}
	}
}

// TestClusterFailover starts 3 masters with a replica each, writes a key
// and waits until its replica has it, kills the key's master, and checks
// that its replica takes over with the key, and that the old master comes
// back as a replica.
func TestClusterFailover(t *testing.T) {
	start := time.Now()
	c := redistest.NewCluster(t, 3, 1)
	t.Logf("3 masters and 3 replicas whole in %v", time.Since(start).Round(time.Millisecond))

	if got := len(c.Addrs()); got != 6 {
		t.Fatalf("%d nodes, want 6", got)
	}
	masters := c.Masters()
	if len(masters) != 3 {
		t.Fatalf("masters %v, want 3", masters)
	}

	owner := setOnOwner(t, masters[0], "k", "v")
	if !slices.Contains(masters, owner) {
		t.Fatalf("the key's owner %s is not among the masters %v", owner, masters)
	}

	start = time.Now()
	c.Kill(owner)
	c.WaitOK()
	t.Logf("a replica took over from the killed master in %v (cluster-node-timeout %v)", time.Since(start).Round(time.Millisecond), redistest.NodeTimeout)
	after := c.Masters()
	if len(after) != 3 || slices.Contains(after, owner) {
		t.Fatalf("masters after Kill(%s) = %v, want 3 others", owner, after)
	}
	if got := getFollowingMoved(t, after[0], "k"); got != "v" {
		t.Errorf("GET k after the failover = %#v, want v", got)
	}

	c.Start(owner)
	c.WaitOK()
	if slices.Contains(c.Masters(), owner) {
		t.Errorf("%s is a master again after it restarted; want it a replica", owner)
	}
}

// setOnOwner sets key on the master that owns its slot, found by
// following MOVED from addr, waits until a replica has the write, and
// returns the owner's address.
func setOnOwner(t *testing.T, addr, key, value string) string {
	t.Helper()
	for range 2 {
		conn, err := redistest.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = conn.Do("SET", key, value)
		if to, ok := movedTo(err); ok {
			addr = to
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		acked, err := conn.Do("WAIT", "1", "5000")
		if err != nil || acked != int64(1) {
			t.Fatalf("WAIT 1 on %s = %v, %v; want 1 replica", addr, acked, err)
		}
		return addr
	}
	t.Fatalf("SET %s: moved more than once", key)
	return ""
}

// getFollowingMoved gets key from the master that owns its slot.
func getFollowingMoved(t *testing.T, addr, key string) any {
	t.Helper()
	reply, err := redistest.Do(addr, "GET", key)
	if to, ok := movedTo(err); ok {
		reply, err = redistest.Do(to, "GET", key)
	}
	if err != nil {
		t.Fatal(err)
	}
	return reply
}

// movedTo returns the address of a MOVED error reply.
func movedTo(err error) (string, bool) {
	var e redistest.Error
	if !errors.As(err, &e) {
		return "", false
	}
	f := strings.Fields(string(e))
	if len(f) != 3 || f[0] != "MOVED" {
		return "", false
	}
	return f[2], true
}

func do(t *testing.T, addr string, args ...string) any {
	t.Helper()
	reply, err := redistest.Do(addr, args...)
	if err != nil {
		t.Fatalf("%s on %s: %v", strings.Join(args, " "), addr, err)
	}
	return reply
}

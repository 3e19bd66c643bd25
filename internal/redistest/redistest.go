// Package redistest is for tests that need a real Redis: it starts
// redis-server processes on free loopback ports, in the test's temporary
// directory, as one node (Single) or as a Redis Cluster (NewCluster), lets a
// test kill and restart a node, and stops every process it started when
// the test ends.
//
// It needs redis-server and redis-cli (Debian's redis-server and
// redis-tools packages). Without them a test that asks for a server is
// skipped, or fails when the environment variable MONTOOL_REQUIRE_REDIS
// is set, as .ci/run sets it.
//
// Every wait is bounded in time. The methods that take no testing.TB use
// the one they were created with and must be called from the test's own
// goroutine, as t.Fatal must.
package redistest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// requireEnv names the environment variable that turns a missing Redis
// from a skip into a failure.
const requireEnv = "MONTOOL_REQUIRE_REDIS"

// lookBinaries returns the paths of the named programs, or skips the test
// (fails it, when requireEnv is set) if one is not installed.
func lookBinaries(t testing.TB, names ...string) []string {
	t.Helper()
	paths := make([]string, len(names))
	for i, name := range names {
		bin, err := exec.LookPath(name)
		if err != nil {
			if os.Getenv(requireEnv) != "" {
				t.Fatalf("%s not found, and %s is set: %v", name, requireEnv, err)
			}
			t.Skipf("%s is not installed: it comes with Debian's redis-server and redis-tools packages (apt-get install redis-server redis-tools; .ci/run installs them)", name)
		}
		paths[i] = bin
	}
	return paths
}

// busOffset is how far above a node's port Redis Cluster puts the node's
// cluster bus, when cluster-port is not set.
const busOffset = 10000

// freePorts returns n distinct loopback ports that were free when asked,
// and, with bus, whose port+busOffset was free too. The kernel picks
// them; they are held until all n are found, so they differ.
func freePorts(n int, bus bool) ([]int, error) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	listen := func(port int) (net.Listener, int, error) {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return nil, 0, err
		}
		held = append(held, l)
		return l, l.Addr().(*net.TCPAddr).Port, nil
	}
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries == 100*n {
			return nil, fmt.Errorf("found %d of %d free loopback ports", len(ports), n)
		}
		_, port, err := listen(0)
		if err != nil {
			return nil, fmt.Errorf("listen on a free loopback port: %w", err)
		}
		if bus {
			if port+busOffset > 65535 {
				continue // held, so the kernel offers another
			}
			if _, _, err := listen(port + busOffset); err != nil {
				if errors.Is(err, syscall.EADDRINUSE) {
					continue
				}
				return nil, fmt.Errorf("listen on the cluster bus port of %d: %w", port, err)
			}
		}
		ports = append(ports, port)
	}
	return ports, nil
}

// configLine formats one line of a redis.conf, quoting the values that
// need it (a path may hold spaces).
func configLine(key string, values ...string) string {
	var b strings.Builder
	b.WriteString(key)
	for _, v := range values {
		b.WriteByte(' ')
		if v == "" || strings.ContainsAny(v, " \t\"'\\") {
			b.WriteString(fmt.Sprintf("%q", v))
		} else {
			b.WriteString(v)
		}
	}
	b.WriteByte('\n')
	return b.String()
}

package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// clusterTimeout bounds the creation of a cluster, once its nodes
	// answer, and each WaitOK.
	clusterTimeout = 30 * time.Second
	// slots is the number of hash slots of a Redis Cluster.
	slots = 16384
)

// NodeTimeout is the cluster-node-timeout of every node of a Cluster: a
// master that does not answer for this long is failed over.
const NodeTimeout = 1000 * time.Millisecond

// Cluster is a Redis Cluster of redis-server processes on loopback
// ports, each with its own directory, append-only file and nodes.conf.
type Cluster struct {
	t       testing.TB
	masters int // masters asked for: WaitOK waits until this many answer
	nodes   []*Server
}

// NewCluster starts masters*(1+replicasPer) redis-server nodes with
// cluster-enabled and appendonly on, joins them with redis-cli --cluster
// create (masters must be at least 3, as redis-cli asks), and waits up to
// 30 s until the cluster is whole (see WaitOK). Every node has a
// cluster-node-timeout of NodeTimeout and a replica validity factor of 0,
// so a replica takes over from a killed master within a few seconds
// however long ago it last heard from it. Cleanup stops every node.
func NewCluster(t testing.TB, masters, replicasPer int) *Cluster {
	t.Helper()
	if masters < 3 || replicasPer < 0 {
		t.Fatalf("a cluster of %d masters with %d replicas each: redis-cli creates one of at least 3 masters", masters, replicasPer)
	}
	bins := lookBinaries(t, "redis-server", "redis-cli")
	n := masters * (1 + replicasPer)
	ports, err := freePorts(n, true)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, masters: masters}
	root := t.TempDir()
	t.Cleanup(c.stopAll)
	extra := []string{
		configLine("cluster-enabled", "yes"),
		configLine("cluster-config-file", "nodes.conf"),
		configLine("cluster-node-timeout", strconv.FormatInt(NodeTimeout.Milliseconds(), 10)),
		configLine("cluster-replica-validity-factor", "0"),
		configLine("appendonly", "yes"),
	}
	for _, port := range ports {
		dir := filepath.Join(root, strconv.Itoa(port))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, newServer(t, bins[0], port, dir, extra))
	}
	for _, s := range c.nodes {
		s.Start()
	}

	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicasPer), "--cluster-yes")
	out, err := exec.CommandContext(ctx, bins[1], args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline, _ := ctx.Deadline()
	if err := c.waitOK(deadline); err != nil {
		t.Fatal(err)
	}
	return c
}

// Addrs returns the addresses of every node, masters and replicas, in
// the order they were started; strings.Join(c.Addrs(), ",") is a list
// of seeds for a client.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, s := range c.nodes {
		addrs[i] = s.Addr()
	}
	return addrs
}

// Masters returns the addresses of the running nodes that answer ROLE
// as masters, in the order of Addrs. Right after Kill of a master, and
// before a replica has taken over, there is one fewer.
func (c *Cluster) Masters() []string {
	c.t.Helper()
	masters, err := c.runningMasters()
	if err != nil {
		c.t.Fatal(err)
	}
	return masters
}

// Node returns the node at addr; the test fails if there is none.
func (c *Cluster) Node(addr string) *Server {
	c.t.Helper()
	for _, s := range c.nodes {
		if s.Addr() == addr {
			return s
		}
	}
	c.t.Fatalf("no node of the cluster is on %s (its nodes: %s)", addr, strings.Join(c.Addrs(), ", "))
	return nil
}

// Kill kills the node at addr with SIGKILL and waits until it is gone.
func (c *Cluster) Kill(addr string) {
	c.t.Helper()
	c.Node(addr).Kill()
}

// Start starts the node at addr again, on its port and with its
// directory, and waits until it answers PING. It rejoins the cluster
// from its nodes.conf; WaitOK waits until it has.
func (c *Cluster) Start(addr string) {
	c.t.Helper()
	c.Node(addr).Start()
}

// WaitOK waits, up to 30 s, until the cluster is whole: every running
// node reports cluster_state:ok with all 16384 slots ok, as many running
// nodes are masters as the cluster was created with, and every running
// replica's link to its master is up. After Kill of a master it returns
// once a replica has taken over; the test fails if none does in time.
func (c *Cluster) WaitOK() {
	c.t.Helper()
	if err := c.waitOK(time.Now().Add(clusterTimeout)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) waitOK(deadline time.Time) error {
	for {
		err := c.whole()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the cluster is not whole after %v: %w", clusterTimeout, err)
		}
		time.Sleep(pollInterval) // polled: Redis has no way to notify of its cluster state
	}
}

// whole returns nil if the cluster is whole, as WaitOK says, and else
// what is missing.
func (c *Cluster) whole() error {
	masters := 0
	for _, s := range c.nodes {
		if !s.Running() {
			continue
		}
		info, err := doString(s.Addr(), "CLUSTER", "INFO")
		if err != nil {
			return err
		}
		if state, _ := infoField(info, "cluster_state"); state != "ok" {
			return fmt.Errorf("%s: cluster_state:%s", s.Addr(), state)
		}
		if ok, _ := infoField(info, "cluster_slots_ok"); ok != strconv.Itoa(slots) {
			return fmt.Errorf("%s: cluster_slots_ok:%s, not %d", s.Addr(), ok, slots)
		}
		repl, err := doString(s.Addr(), "INFO", "replication")
		if err != nil {
			return err
		}
		switch role, _ := infoField(repl, "role"); role {
		case "master":
			masters++
		case "slave":
			if link, _ := infoField(repl, "master_link_status"); link != "up" {
				return fmt.Errorf("%s: a replica with master_link_status:%s", s.Addr(), link)
			}
		default:
			return fmt.Errorf("%s: role:%s", s.Addr(), role)
		}
	}
	if masters != c.masters {
		return fmt.Errorf("%d running masters, not %d", masters, c.masters)
	}
	return nil
}

// runningMasters returns the running nodes whose ROLE is master.
func (c *Cluster) runningMasters() ([]string, error) {
	var masters []string
	for _, s := range c.nodes {
		if !s.Running() {
			continue
		}
		role, err := Do(s.Addr(), "ROLE")
		if err != nil {
			return nil, err
		}
		fields, ok := role.([]any)
		if !ok || len(fields) == 0 {
			return nil, fmt.Errorf("ROLE on %s: an unexpected reply %v", s.Addr(), role)
		}
		if fields[0] == "master" {
			masters = append(masters, s.Addr())
		}
	}
	return masters, nil
}

// stopAll stops every node at once, each as Server.Stop does.
func (c *Cluster) stopAll() {
	var wg sync.WaitGroup
	for _, s := range c.nodes {
		wg.Go(s.Stop)
	}
	wg.Wait()
}

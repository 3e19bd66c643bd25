package redistest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// readyTimeout bounds the wait for a started server to answer PING
	// (a restart with an append-only file loads it first).
	readyTimeout = 10 * time.Second
	// stopTimeout bounds the wait for a server to exit after SIGTERM,
	// before it gets SIGKILL.
	stopTimeout = 10 * time.Second
	// termInterval is how often Stop sends SIGTERM again.
	termInterval = 200 * time.Millisecond
	// killTimeout bounds the wait for a process to be gone after SIGKILL.
	killTimeout = 5 * time.Second
	// pollInterval is how often a wait asks again.
	pollInterval = 20 * time.Millisecond
)

// Options says how Single configures its server.
type Options struct {
	// AppendOnly turns on the append-only file, with appendfsync always:
	// every write is on disk before it is answered, so a Kill loses
	// nothing and Start finds every write again. Without it the server
	// keeps nothing on disk, and a restarted server is empty.
	AppendOnly bool
}

// Server is one redis-server process, started by Single or by NewCluster,
// on a fixed loopback port and directory that outlive a Kill, so Start
// brings it back where it was.
type Server struct {
	t    testing.TB
	bin  string
	addr string
	dir  string
	conf string // path of its redis.conf, in dir
	log  string // path of its log file, in dir

	mu   sync.Mutex // guards proc
	proc *process   // the running process; nil when it is not running
}

// process is one run of redis-server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd.Wait has returned
}

// Single starts one redis-server with no persistence on a free loopback
// port, waits until it answers PING, and stops it when the test ends.
func Single(t testing.TB) *Server {
	t.Helper()
	return SingleWith(t, Options{})
}

// SingleWith is Single with the given options.
func SingleWith(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := lookBinaries(t, "redis-server")[0]
	ports, err := freePorts(1, false)
	if err != nil {
		t.Fatal(err)
	}
	var extra []string
	if opts.AppendOnly {
		extra = append(extra, configLine("appendonly", "yes"), configLine("appendfsync", "always"))
	}
	s := newServer(t, bin, ports[0], t.TempDir(), extra)
	t.Cleanup(s.Stop)
	s.Start()
	return s
}

// newServer writes the redis.conf of a server on port in dir, with the
// extra config lines, and returns it not yet started.
func newServer(t testing.TB, bin string, port int, dir string, extra []string) *Server {
	t.Helper()
	s := &Server{
		t:    t,
		bin:  bin,
		addr: "127.0.0.1:" + strconv.Itoa(port),
		dir:  dir,
		conf: filepath.Join(dir, "redis.conf"),
		log:  filepath.Join(dir, "redis.log"),
	}
	var conf bytes.Buffer
	for _, line := range []string{
		configLine("bind", "127.0.0.1"),
		configLine("port", strconv.Itoa(port)),
		configLine("dir", dir),
		configLine("logfile", s.log),
		configLine("daemonize", "no"),
		configLine("save", ""),
		configLine("appendonly", "no"),
		// A replica syncs at once, not after the default 5 s wait for
		// other replicas to share a diskless transfer.
		configLine("repl-diskless-sync-delay", "0"),
	} {
		conf.WriteString(line)
	}
	for _, line := range extra { // later lines win in redis.conf
		conf.WriteString(line)
	}
	if err := os.WriteFile(s.conf, conf.Bytes(), 0o644); err != nil {
		t.Fatalf("write the config of the redis-server on %s: %v", s.addr, err)
	}
	return s
}

// Addr returns the server's address, 127.0.0.1 and its port.
func (s *Server) Addr() string { return s.addr }

// Dir returns the server's directory, where its config, log, and any
// append-only file or nodes.conf are.
func (s *Server) Dir() string { return s.dir }

// Start starts the server, on its port and in its directory, and waits
// until it answers PING. The test fails if it is already running or does
// not answer within 10 s.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Server) start() error {
	s.mu.Lock()
	if s.proc != nil {
		s.mu.Unlock()
		return fmt.Errorf("the redis-server on %s is already running", s.addr)
	}
	cmd := exec.Command(s.bin, s.conf)
	cmd.Dir = s.dir
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("start the redis-server on %s: %w", s.addr, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait() // the exit is seen through done; the status says nothing more
		close(p.done)
	}()
	s.proc = p
	s.mu.Unlock()

	deadline := time.Now().Add(readyTimeout)
	for {
		pong, err := doString(s.addr, "PING")
		if err == nil && pong == "PONG" {
			return nil
		}
		select {
		case <-p.done:
			s.forget(p)
			return fmt.Errorf("the redis-server on %s exited before it answered PING (%s)%s", s.addr, cmd.ProcessState, s.logTail())
		case <-time.After(pollInterval):
		}
		if time.Now().After(deadline) {
			s.kill(p)
			return fmt.Errorf("the redis-server on %s did not answer PING within %v (last: %q, %v)%s", s.addr, readyTimeout, pong, err, s.logTail())
		}
	}
}

// Kill kills the server with SIGKILL, as a crash would, and waits until
// it is gone. The test fails if it is not running.
func (s *Server) Kill() {
	s.t.Helper()
	p := s.running()
	if p == nil {
		s.t.Fatalf("kill the redis-server on %s: it is not running", s.addr)
	}
	if err := s.kill(p); err != nil {
		s.t.Fatal(err)
	}
}

// Stop stops the server with SIGTERM, which has Redis finish its writes
// to disk, and waits until it is gone; after 10 s it kills it and the
// test fails. A server
// that is not running is left as it is. Cleanup calls it.
func (s *Server) Stop() {
	s.t.Helper()
	p := s.running()
	if p == nil {
		return
	}
	// Redis drops a SIGTERM it cannot act on yet (a replica that is
	// writing its first append-only file after a full sync logs "can't
	// exit" and runs on), so it is sent again until the server is gone.
	deadline := time.After(stopTimeout)
	for stopped := false; !stopped; {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			s.forget(p)
			return
		case <-time.After(termInterval):
		case <-deadline:
			stopped = true
		}
	}
	s.t.Errorf("the redis-server on %s did not exit within %v of SIGTERM: killing it%s", s.addr, stopTimeout, s.logTail())
	if err := s.kill(p); err != nil {
		s.t.Error(err)
	}
}

// Running reports whether the server's process is running.
func (s *Server) Running() bool { return s.running() != nil }

func (s *Server) running() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// kill sends SIGKILL to p, waits until it is gone, and forgets it.
func (s *Server) kill(p *process) error {
	p.cmd.Process.Kill()
	select {
	case <-p.done:
		s.forget(p)
		return nil
	case <-time.After(killTimeout):
		return fmt.Errorf("the redis-server on %s (pid %d) is still there %v after SIGKILL", s.addr, p.cmd.Process.Pid, killTimeout)
	}
}

// forget clears proc if it is still p.
func (s *Server) forget(p *process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == p {
		s.proc = nil
	}
}

// logTail returns the last lines of the server's log, for a message.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return ""
		}
		return "\n(its log: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "\nthe end of its log " + s.log + ":\n" + string(bytes.Join(lines, []byte("\n")))
}

// Package profiler serves Go's profiler (net/http/pprof) on an address of
// its own, apart from the API and without a token: whoever reaches it may
// profile the process and read its memory, so it belongs on loopback.
package profiler

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"time"
)

// Server serves net/http/pprof under /debug/pprof/.
type Server struct {
	hs *http.Server
	ln net.Listener
}

// ErrNotLoopback is the kind of the errors of Listen and CheckAddr for an
// address that is not loopback.
var ErrNotLoopback = errors.New("not a loopback address")

// CheckAddr refuses addr when it cannot be a loopback address, before
// anything listens on it: a port alone (every interface), or an IP address
// that is not loopback. A host name passes: Listen checks where it
// resolves to.
func CheckAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	switch {
	case err != nil:
		return fmt.Errorf("%q: %w", addr, err)
	case host == "":
		return fmt.Errorf("%q is %w: a port alone listens on every interface", addr, ErrNotLoopback)
	}
	if ip, err := netip.ParseAddr(host); err == nil && !ip.Unmap().IsLoopback() {
		return fmt.Errorf("%q is %w", addr, ErrNotLoopback)
	}
	return nil
}

// Listen listens on addr, such as 127.0.0.1:6060. Unless remote, addr
// must be a loopback address, by CheckAddr and where it listens.
func Listen(addr string, remote bool) (*Server, error) {
	if !remote {
		if err := CheckAddr(addr); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s := &Server{hs: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	if !remote && !s.Loopback() {
		ln.Close()
		return nil, fmt.Errorf("%q is %w: it listens on %s", addr, ErrNotLoopback, ln.Addr())
	}
	return s, nil
}

// Addr returns the address s listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Loopback reports whether s listens on a loopback address only.
func (s *Server) Loopback() bool {
	bound, err := netip.ParseAddrPort(s.ln.Addr().String())
	return err == nil && bound.Addr().Unmap().IsLoopback()
}

// Run serves until ctx ends, then closes every connection (a profile being
// taken is cut short) and returns nil; or it returns why serving failed.
func (s *Server) Run(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.hs.Serve(s.ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		s.hs.Close()
		<-served
		return nil
	}
}

// Close stops listening, for a Server that is not to Run.
func (s *Server) Close() error { return s.ln.Close() }

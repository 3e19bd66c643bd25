// Package profiler serves Go's profiler (net/http/pprof) on an address of
// its own, apart from the API and without a token: whoever reaches it may
// profile the process and read its memory, so it belongs on loopback.
package profiler

import (
	"context"
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

// Listen listens on addr, such as 127.0.0.1:6060.
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &Server{hs: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}, nil
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

// Package server is montool's HTTP API over a Store: routes, handlers, the
// mapping of errors to status codes, and the server's lifecycle.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Config is what the server needs to know beyond its store.
type Config struct {
	// Addr is the TCP address to listen on, such as ":8080".
	Addr string
	// MaxBodyBytes is the largest request body taken; larger gets 413.
	MaxBodyBytes int64
	// MaxBatchEvents is the most events one request may hold; more gets 413.
	MaxBatchEvents int
	// MaxBodyMemory bounds the memory that the bodies of all requests in
	// flight hold together (decompressed, when they are gzip), past the
	// few KiB each may hold on its own; a body that finds it spent gets
	// 503. At least MaxBodyBytes.
	MaxBodyMemory int64
	// ReadHeaderTimeout bounds how long a client may take to send its
	// request headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds how long a client may take to send a whole request.
	ReadTimeout time.Duration
	// WriteTimeout bounds how long writing a response may take.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long an idle keep-alive connection stays open.
	IdleTimeout time.Duration
	// ShutdownTimeout bounds how long a shutdown waits for requests in
	// flight before it closes their connections.
	ShutdownTimeout time.Duration
	// Settings are the tokens and the rate limit the server starts with;
	// Apply changes them while it runs.
	Settings
	// InsecureOpen takes requests without a token from any address, when
	// there are no tokens.
	InsecureOpen bool
	// TLSCert and TLSKey are the files of the certificate (PEM, with its
	// chain) and private key to serve HTTPS with; both empty for HTTP.
	TLSCert, TLSKey string
	// MaxInFlight bounds the event requests handled at once; over it a
	// request gets 503 at once. 0 for no bound.
	MaxInFlight int
	// MetricsPublic serves /metrics to anyone; else it takes what the
	// stats take (an admin token, or in open mode a loopback address).
	MetricsPublic bool
	// Reload reads the configuration again and applies what may change
	// (the Settings, with Apply, and the store's); on SIGHUP and POST
	// /-/reload. nil when there is nothing to read again.
	Reload func(context.Context) error
}

// maxHeaderBytes bounds the size of request headers.
const maxHeaderBytes = 64 << 10

// DefaultConfig returns the configuration `montool serve` starts with.
func DefaultConfig() Config {
	return Config{
		Addr:              ":8080",
		MaxBodyBytes:      8 << 20,
		MaxBatchEvents:    10_000,
		MaxBodyMemory:     256 << 20,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ShutdownTimeout:   10 * time.Second,
	}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Addr == "":
		return errors.New("listen address must not be empty")
	case c.MaxBodyBytes <= 0:
		return fmt.Errorf("max body bytes must be positive, not %d", c.MaxBodyBytes)
	case c.MaxBodyMemory < c.MaxBodyBytes:
		return fmt.Errorf("max body memory (%d bytes) must be at least the max body bytes (%d), or no body of the largest size is ever taken", c.MaxBodyMemory, c.MaxBodyBytes)
	case c.MaxBatchEvents <= 0:
		return fmt.Errorf("max batch events must be positive, not %d", c.MaxBatchEvents)
	case c.ReadHeaderTimeout <= 0 || c.ReadTimeout <= 0 || c.WriteTimeout <= 0 || c.IdleTimeout <= 0:
		return errors.New("read-header, read, write and idle timeouts must be positive")
	case c.ShutdownTimeout < 0:
		return fmt.Errorf("shutdown timeout must not be negative, not %s", c.ShutdownTimeout)
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("TLS needs both a certificate file and a key file")
	case c.MaxInFlight < 0:
		return fmt.Errorf("max in-flight requests must not be negative, not %d", c.MaxInFlight)
	}
	return c.Settings.Validate()
}

// Server serves the HTTP API over a Store.
type Server struct {
	cfg     Config
	store   Store
	log     *slog.Logger
	handler http.Handler
	tls     *tls.Config // nil for HTTP

	live atomic.Pointer[live] // the settings requests start with
	// reloadMu guards reloading: one reload at a time reads the
	// configuration and applies it, so that an older one never overwrites
	// a newer.
	reloadMu sync.Mutex
	bodies   *bodyBudget // of the request bodies being read
	// batches pools the buffers of event requests (*batch), so that a
	// busy server does not allocate them for every request.
	batches sync.Pool
	// gzipReaders pools the readers of gzip bodies (*gzip.Reader).
	gzipReaders sync.Pool
	inFlight    chan struct{} // a slot per request in flight; nil without a bound
	metrics     *metrics
	patterns    []string // the routes, as registered
}

// New returns a server over st, or an error when cfg is not valid.
func New(cfg Config, st Store, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	s := &Server{cfg: cfg, store: st, log: log, bodies: newBodyBudget(cfg.MaxBodyMemory)}
	s.batches.New = func() any { return new(batch) }
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("TLS certificate %s and key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
		}
		s.tls = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	s.live.Store(newLive(cfg.Settings, nil))
	if cfg.MaxInFlight > 0 {
		s.inFlight = make(chan struct{}, cfg.MaxInFlight)
	}
	s.metrics = newMetrics(st)
	s.handler = s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler, routes and middleware included.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen opens the TCP listener for cfg.Addr.
func (s *Server) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen %q: %w", s.cfg.Addr, err)
	}
	return ln, nil
}

// Run serves on ln until ctx ends, then shuts down: it stops accepting,
// lets the requests in flight finish (for up to ShutdownTimeout) and returns
// nil. It returns an error only when serving fails. Run closes ln.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		TLSConfig:         s.tls,
	}
	scheme := "http"
	if s.tls != nil {
		ln, scheme = tls.NewListener(ln, s.tls), "https"
	}
	s.log.Info("montool listening", "addr", ln.Addr().String(), "scheme", scheme)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	<-served // http.ErrServerClosed once Shutdown has begun
	if err != nil {
		hs.Close()
		return fmt.Errorf("shutdown: requests still in flight after %s: %w", s.cfg.ShutdownTimeout, err)
	}
	s.log.Info("stopped")
	return nil
}

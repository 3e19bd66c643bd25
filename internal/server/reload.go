package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/montool/montool/internal/auth"
	"github.com/montool/montool/internal/event"
)

// Settings are what a running server can change without a restart, by
// Apply: the tokens it takes and the rate limit.
type Settings struct {
	// Tokens are the bearer tokens the API takes. With none the server is
	// in open mode: it takes requests without a token, but only from
	// loopback addresses unless Config.InsecureOpen.
	Tokens *auth.Set
	// RateLimit is how many events a second each client may send, with
	// RateBurst more at once (0: RateLimit's worth of a second, at least
	// one); 0 for no limit. Over it a request gets 429 and applies
	// nothing.
	RateLimit float64
	RateBurst int
}

// Validate reports the first setting that cannot work.
func (s Settings) Validate() error {
	switch {
	case s.RateLimit < 0 || math.IsNaN(s.RateLimit) || math.IsInf(s.RateLimit, 0):
		return fmt.Errorf("rate limit must be a number of events a second from 0, not %v", s.RateLimit)
	case s.RateBurst < 0:
		return fmt.Errorf("rate burst must not be negative, not %d", s.RateBurst)
	}
	return nil
}

// live is the Settings in force, as requests use them. A request takes the
// live settings once, when it starts, and keeps them to its end.
type live struct {
	settings Settings
	limiter  *limiter // nil without a rate limit
}

// newLive returns the live form of set, keeping the rate-limit state of
// old when the rate limit is the same.
func newLive(set Settings, old *live) *live {
	l := &live{settings: set}
	switch {
	case set.RateLimit <= 0:
	case old != nil && old.limiter != nil && old.settings.RateLimit == set.RateLimit && old.settings.RateBurst == set.RateBurst:
		l.limiter = old.limiter
	default:
		burst := set.RateBurst
		if burst == 0 {
			burst = max(1, int(set.RateLimit))
		}
		l.limiter = newLimiter(set.RateLimit, burst)
	}
	return l
}

// Apply makes set the settings of the requests that start from now on;
// those in flight finish with the settings they started with.
func (s *Server) Apply(set Settings) error {
	if err := set.Validate(); err != nil {
		return err
	}
	s.live.Store(newLive(set, s.live.Load()))
	return nil
}

// liveOf returns the settings the request started with.
func (s *Server) liveOf(ctx context.Context) *live {
	if ri, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok && ri.live != nil {
		return ri.live
	}
	return s.live.Load()
}

// errNoReload is the error of a reload of a server that has no
// configuration to read again.
var errNoReload = errors.New("this server has no configuration file to read again")

// errBadConfig is the kind of error of a reload whose configuration does
// not validate.
var errBadConfig = errors.New("invalid config")

// Reload reads the configuration again through Config.Reload and applies
// what may change, one reload at a time; it logs the outcome and counts it
// in the metrics. A configuration that does not validate changes nothing.
func (s *Server) Reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	err := errNoReload
	if s.cfg.Reload != nil {
		err = s.cfg.Reload(ctx)
	}
	s.metrics.countReload(err, time.Now())
	if err != nil {
		s.log.Error("reloading the configuration failed; the settings in force are kept", "err", err)
		return &event.Error{Kind: errBadConfig, Message: "the configuration was not reloaded, and the settings in force are kept: " + err.Error()}
	}
	s.log.Info("reloaded the configuration")
	return nil
}

// reloadResponse is the body of a successful POST /-/reload.
type reloadResponse struct {
	Status string `json:"status"`
}

// handleReload reads the configuration again, as SIGHUP does.
func (s *Server) handleReload() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.Reload(r.Context()); err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, reloadResponse{Status: "reloaded"})
	}
}

package server

import (
	"hash/maphash"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/montool/montool/internal/event"
)

// limiter limits the events each client may send: a token bucket per
// client, filled at rate events a second up to burst. A request is taken
// whole or not at all.
type limiter struct {
	rate, burst float64
	seed        maphash.Seed
	shards      [64]limiterShard
}

type limiterShard struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

// bucket is the tokens of one client: tokens at the time last.
type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	l := &limiter{rate: rate, burst: float64(burst), seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]*bucket)
	}
	return l
}

// take takes counts[client] tokens from each client's bucket at now, or
// none when any bucket is short, and then returns how long until the
// request could be taken. A bucket that is full may go below zero for a
// request larger than the burst, so that such a request is taken once the
// client has waited for a full bucket.
func (l *limiter) take(counts map[string]int, now time.Time) (ok bool, wait time.Duration) {
	taken := make([]string, 0, len(counts))
	for client, n := range counts {
		if w := l.takeOne(client, float64(n), now); w > 0 {
			for _, c := range taken {
				l.give(c, float64(counts[c]))
			}
			return false, w
		}
		taken = append(taken, client)
	}
	return true, 0
}

// takeOne takes n tokens from client's bucket, or returns how long until
// it could.
func (l *limiter) takeOne(client string, n float64, now time.Time) time.Duration {
	s := &l.shards[maphash.String(l.seed, client)%uint64(len(l.shards))]
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[client]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		s.buckets[strings.Clone(client)] = b // client may point into a request
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed*l.rate)
		b.last = now
	}
	need := math.Min(n, l.burst)
	if b.tokens < need {
		return time.Duration((need - b.tokens) / l.rate * float64(time.Second))
	}
	b.tokens -= n
	return 0
}

// give gives back n tokens taken from client's bucket.
func (l *limiter) give(client string, n float64) {
	s := &l.shards[maphash.String(l.seed, client)%uint64(len(l.shards))]
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buckets[client]; b != nil {
		b.tokens = math.Min(l.burst, b.tokens+n)
	}
}

// limitInFlight answers 503 at once, with Retry-After, instead of h when
// MaxInFlight requests are in h already.
func (s *Server) limitInFlight(h http.Handler) http.Handler {
	if s.inFlight == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.inFlight <- struct{}{}:
			defer func() { <-s.inFlight }()
			h.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, &event.Error{Kind: errOverloaded, Message: "the server has as many requests in flight as it takes: nothing was applied; send it again shortly"})
		}
	})
}

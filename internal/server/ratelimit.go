package server

import (
	"fmt"
	"hash/maphash"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/montool/montool/internal/event"
)

// limiter limits the events each client may send: a token bucket per
// client, filled at rate events a second up to burst. A request is taken
// whole or not at all.
//
// A full bucket is the same as none, so buckets are made only for the
// clients of a request that the store took something of, and a bucket
// that has been full for a while is dropped: clients that send nothing,
// or only refused events, hold no memory here.
type limiter struct {
	rate, burst float64
	// sweepEvery is how often a shard drops its full buckets.
	sweepEvery time.Duration
	seed       maphash.Seed
	shards     [64]limiterShard
}

type limiterShard struct {
	mu        sync.Mutex         // guards buckets and nextSweep
	buckets   map[string]*bucket // by client id
	nextSweep time.Time
}

// bucket is the tokens of one client: tokens at the time last.
type bucket struct {
	tokens float64
	last   time.Time
}

// minSweepEvery is the shortest time between two sweeps of a shard.
const minSweepEvery = time.Minute

func newLimiter(rate float64, burst int) *limiter {
	refill := time.Duration(float64(burst) / rate * float64(time.Second))
	l := &limiter{rate: rate, burst: float64(burst), sweepEvery: max(refill, minSweepEvery), seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]*bucket)
	}
	return l
}

func (l *limiter) shard(client string) *limiterShard {
	return &l.shards[maphash.String(l.seed, client)%uint64(len(l.shards))]
}

// takeRequest takes the events of a request from their clients' buckets,
// all of them or none. It returns the clients whose buckets it made, for
// settle, or, when a client is over its rate, how long until the request
// could be taken and an error that says so. A nil limiter takes any
// request.
func (l *limiter) takeRequest(events []event.Event) (made []string, wait time.Duration, err error) {
	if l == nil || len(events) == 0 {
		return nil, 0, nil
	}
	counts := make(map[string]int)
	for i := range events {
		counts[events[i].ClientID]++
	}
	ok, wait, made := l.take(counts, time.Now())
	if !ok {
		return nil, wait, &event.Error{Kind: errRateLimited, Message: fmt.Sprintf(
			"a client of this request sends more than %g events a second: nothing was applied; send it again after %s", l.rate, wait.Round(time.Millisecond))}
	}
	return made, 0, nil
}

// take takes counts[client] tokens from each client's bucket at now, or
// none when any bucket is short, and then returns how long until the
// request could be taken. A bucket that is full may go below zero for a
// request larger than the burst, so that such a request is taken once the
// client has waited for a full bucket. made lists the clients whose
// buckets take made: the caller passes them to settle once it knows what
// the store took.
func (l *limiter) take(counts map[string]int, now time.Time) (ok bool, wait time.Duration, made []string) {
	taken := make([]string, 0, len(counts))
	for client, n := range counts {
		w, fresh := l.takeOne(client, float64(n), now)
		if fresh {
			made = append(made, client)
		}
		if w > 0 {
			for _, c := range taken {
				l.give(c, float64(counts[c]))
			}
			l.drop(made) // they were full, and are again
			return false, w, nil
		}
		taken = append(taken, client)
	}
	return true, 0, made
}

// takeOne takes n tokens from client's bucket, or returns how long until
// it could; fresh says the bucket was made for it.
func (l *limiter) takeOne(client string, n float64, now time.Time) (wait time.Duration, fresh bool) {
	s := l.shard(client)
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.After(s.nextSweep) {
		l.sweep(s, now)
	}
	b := s.buckets[client]
	if b == nil {
		b, fresh = &bucket{tokens: l.burst, last: now}, true
		// The bucket outlives the request, and client is a string of the
		// request's ingestjson.Batch, valid only until the batch is reset.
		s.buckets[strings.Clone(client)] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed*l.rate)
		b.last = now
	}
	need := math.Min(n, l.burst)
	if b.tokens < need {
		return time.Duration((need - b.tokens) / l.rate * float64(time.Second)), fresh
	}
	b.tokens -= n
	return 0, fresh
}

// sweep drops the buckets of s that are full at now. The caller holds s.mu.
func (l *limiter) sweep(s *limiterShard, now time.Time) {
	for client, b := range s.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(s.buckets, client)
		}
	}
	s.nextSweep = now.Add(l.sweepEvery)
}

// give gives back n tokens taken from client's bucket.
func (l *limiter) give(client string, n float64) {
	s := l.shard(client)
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buckets[client]; b != nil {
		b.tokens = math.Min(l.burst, b.tokens+n)
	}
}

// settle drops the buckets take made for clients that the store took
// nothing of: every event of theirs was refused, so they count as unseen.
func (l *limiter) settle(made []string, events []event.Event, results []event.Result) {
	if l == nil || len(made) == 0 {
		return
	}
	took := make(map[string]bool, len(made))
	for i := range results {
		if results[i].Err == nil {
			took[events[i].ClientID] = true
		}
	}
	made = slices.DeleteFunc(made, func(c string) bool { return took[c] })
	l.drop(made)
}

// drop removes the buckets of clients.
func (l *limiter) drop(clients []string) {
	for _, c := range clients {
		s := l.shard(c)
		s.mu.Lock()
		delete(s.buckets, c)
		s.mu.Unlock()
	}
}

// buckets returns how many buckets l holds.
func (l *limiter) buckets() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
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

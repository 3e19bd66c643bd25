package loadgen

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// MaxRounds bounds the rounds of a comparison.
const MaxRounds = 100

// Server is a server that rounds of load are run against.
type Server struct {
	// Target names the server and says what it answers; each round
	// fills in its URL and Round.
	Target
	// Start readies the server for one round and returns its base URL and
	// a function that releases it after the round.
	Start func(ctx context.Context) (url string, stop func() error, err error)
}

// Rounds runs rounds rounds of cfg against each server in turn (round
// 1 of each, then round 2 of each, and so on) so that whatever else the
// machine does over time weighs on all of them alike. It calls done, when
// not nil, after each run, and returns every result in the order run. When
// ctx ends it stops and returns what it measured, with no error; an error
// means a run could not start or a server failed to start or stop.
func Rounds(ctx context.Context, cfg Config, rounds int, servers []Server, done func(*Result)) ([]*Result, error) {
	if rounds < 1 || rounds > MaxRounds {
		return nil, &FieldError{Field: "rounds", Value: fmt.Sprint(rounds), Message: fmt.Sprintf("must be between 1 and %d", MaxRounds)}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var results []*Result
	for round := 1; round <= rounds; round++ {
		for _, c := range servers {
			if ctx.Err() != nil {
				return results, nil
			}
			res, err := runOne(ctx, cfg, c, round)
			if err != nil {
				return results, err
			}
			results = append(results, res)
			if done != nil {
				done(res)
			}
		}
	}
	return results, nil
}

// runOne starts c, runs one round against it and stops it.
func runOne(ctx context.Context, cfg Config, c Server, round int) (*Result, error) {
	url, stop, err := c.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("start the %s server: %w", c.Name, err)
	}
	t := c.Target
	t.URL, t.Round = url, round
	res, err := Run(ctx, cfg, t)
	if serr := stop(); serr != nil {
		err = errors.Join(err, fmt.Errorf("stop the %s server: %w", c.Name, serr))
	}
	return res, err
}

// Summary is the median of a target's rounds.
type Summary struct {
	Target string
	// Rounds is the number of rounds the medians are of.
	Rounds                             int
	EventsPerSecond, RequestsPerSecond float64
	P50, P99                           time.Duration
	CPUPerEvent                        time.Duration
}

// Summarize returns the medians of each target's rounds, in the order the
// targets first appear in results. A round cut short by an interrupt
// counts only when the target has no other.
func Summarize(results []*Result) []Summary {
	var names []string
	byName := map[string][]*Result{}
	for _, r := range results {
		if _, ok := byName[r.Target]; !ok {
			names = append(names, r.Target)
		}
		byName[r.Target] = append(byName[r.Target], r)
	}
	out := make([]Summary, 0, len(names))
	for _, name := range names {
		rs := byName[name]
		if whole := slices.DeleteFunc(slices.Clone(rs), func(r *Result) bool { return r.StoppedBy == "interrupted" }); len(whole) > 0 {
			rs = whole
		}
		s := Summary{Target: name, Rounds: len(rs)}
		s.EventsPerSecond = Median(collect(rs, func(r *Result) float64 { return r.EventsPerSecond() }))
		s.RequestsPerSecond = Median(collect(rs, func(r *Result) float64 { return r.RequestsPerSecond() }))
		s.P50 = time.Duration(Median(collect(rs, func(r *Result) float64 { return float64(r.Latency.Quantile(0.5)) })))
		s.P99 = time.Duration(Median(collect(rs, func(r *Result) float64 { return float64(r.Latency.Quantile(0.99)) })))
		s.CPUPerEvent = time.Duration(Median(collect(rs, func(r *Result) float64 { return float64(r.CPUPerEvent()) })))
		out = append(out, s)
	}
	return out
}

func collect(rs []*Result, f func(*Result) float64) []float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	return xs
}

// Median returns the middle value of xs, or the mean of the two middle
// values when there is an even number of them; 0 for none. It does not
// change xs.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	mid := len(s) / 2
	if len(s)%2 == 1 {
		return s[mid]
	}
	return (s[mid-1] + s[mid]) / 2
}

package agent_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/montool/montool/internal/agent"
	"github.com/montool/montool/internal/apiclient"
	"github.com/montool/montool/internal/event"
)

// scripted is a Sender that answers the n-th send (from 1) as answer says.
type scripted struct {
	n      atomic.Int64
	answer func(n int64, events []event.Event) (*event.Summary, error)
}

func (s *scripted) SendBatch(_ context.Context, events []event.Event, _ apiclient.SendOptions) (*event.Summary, error) {
	return s.answer(s.n.Add(1), events)
}

// TestRejectionReasons: an agent keeps the first message of each kind of
// rejection its events met, in the order met.
func TestRejectionReasons(t *testing.T) {
	s := &scripted{answer: func(n int64, events []event.Event) (*event.Summary, error) {
		code, msg := "forbidden", "not yours "+string(rune('0'+n%10))
		if n%2 == 0 {
			code, msg = "invalid", "bad value "+string(rune('0'+n%10))
		}
		return &event.Summary{Rejected: len(events), Errors: []event.ItemError{{Code: code, Message: msg}}},
			&apiclient.Error{Status: 403, Code: code}
	}}
	cfg := testConfig()
	cfg.Duration = 200 * time.Millisecond
	f, err := agent.NewFleet(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	_ = runToEnd(t, f)
	got := f.Agents()[0].Rejections()
	want := []agent.Rejection{{Code: "forbidden", Message: "not yours 1"}, {Code: "invalid", Message: "bad value 2"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Rejections = %+v, want %+v", got, want)
	}
	if since, _ := f.Agents()[0].Failing(); !since.IsZero() {
		t.Errorf("Failing = %v, want zero: every send got an answer", since)
	}
}

// TestFailingSince: while sends get no answer an agent says since when,
// and once one gets an answer it says it is not failing.
func TestFailingSince(t *testing.T) {
	down := errors.New("connection refused")
	var upAgain atomic.Bool
	var answeredUp atomic.Int64
	failing, afterAnswer := make(chan struct{}), make(chan struct{})
	s := &scripted{answer: func(n int64, events []event.Event) (*event.Summary, error) {
		if !upAgain.Load() {
			if n == 3 {
				close(failing)
			}
			return nil, down
		}
		// The agent sends one batch at a time: by its second send once up,
		// the answer to the first has been counted.
		if answeredUp.Add(1) == 2 {
			close(afterAnswer)
		}
		return &event.Summary{Accepted: len(events)}, nil
	}}
	cfg := testConfig()
	f, err := agent.NewFleet(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	<-failing
	a := f.Agents()[0]
	since, ferr := a.Failing()
	if since.Before(start) || since.After(time.Now()) || !errors.Is(ferr, down) {
		t.Errorf("Failing = %v, %v; want a time since the start and the error", since, ferr)
	}
	upAgain.Store(true)
	select {
	case <-afterAnswer:
	case <-time.After(waitLimit):
		t.Fatalf("no second send within %s of the server coming back", waitLimit)
	}
	if since, _ := a.Failing(); !since.IsZero() {
		t.Errorf("Failing = %v after an accepted send, want zero", since)
	}
	cancel()
	<-done
}

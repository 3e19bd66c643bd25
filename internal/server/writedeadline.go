package server

import (
	"context"
	"errors"
	"net/http"
	"os"
	"time"
)

// progressWriter writes a long answer, such as a dump of many megabytes,
// under a write deadline that moves on as the answer makes progress: the
// server's WriteTimeout bounds how long the reader may take nothing, not how
// long the whole answer may take. A reader that keeps reading is never cut;
// one that stalls is cut after WriteTimeout, and at most an eighth of it
// more, without progress.
//
// The deadline is moved only once an eighth of the timeout has passed since
// it was last moved, so that a write costs a clock read, not a deadline
// update.
type progressWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	slack   time.Duration // how late the deadline is set past timeout
	next    time.Time     // when the deadline is to be moved again
	written int64         // bytes written
	fixed   bool          // the deadline cannot be moved (not supported)
}

// newProgressWriter returns a writer of w's body that moves w's write
// deadline to timeout from now at once, and again as writes complete.
func newProgressWriter(w http.ResponseWriter, timeout time.Duration) *progressWriter {
	p := &progressWriter{w: w, rc: http.NewResponseController(w), timeout: timeout, slack: timeout / 8}
	p.extend(time.Now())
	return p
}

// Write writes b to the answer and, when it is due, moves the deadline.
func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.written += int64(n)
	if err == nil && !p.fixed {
		if now := time.Now(); now.After(p.next) {
			p.extend(now)
		}
	}
	return n, err
}

// extend sets the deadline to timeout and slack from now. Whatever is
// written before the next move is written at most slack after now, so the
// reader has at least timeout from its last progress.
func (p *progressWriter) extend(now time.Time) {
	if err := p.rc.SetWriteDeadline(now.Add(p.timeout + p.slack)); err != nil {
		p.fixed = true // the server's own timeout stays
		return
	}
	p.next = now.Add(p.slack)
}

// cutReason words why writing an answer failed: the reader stalled past
// the write timeout, the client went away, or what err says.
func cutReason(ctx context.Context, err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "the reader took nothing for the write timeout (" + timeout.String() + ")"
	case ctx.Err() != nil:
		return "the client went away"
	}
	return err.Error()
}

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
// To keep small writes (a line of NDJSON) cheap, the clock is read only
// once checkEvery bytes were written since it was last read, and the
// deadline moved only once an eighth of the timeout has passed since it was
// last moved. Progress is thus checkEvery bytes within the timeout: a
// reader slower than that (136 bytes a second for 30 s) counts as stalled.
type progressWriter struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	timeout   time.Duration
	slack     time.Duration // how late the deadline is set past timeout
	next      time.Time     // when the deadline is to be moved again
	written   int64         // bytes written
	unchecked int           // bytes written since the clock was read
	fixed     bool          // the deadline cannot be moved (not supported)
}

// checkEvery is how many bytes are written between two reads of the clock:
// about what the server buffers before it writes to the connection, so a
// write that did not fill the buffers, and could not block, reads none.
const checkEvery = 4 << 10

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
	p.unchecked += n
	if err == nil && !p.fixed && p.unchecked >= checkEvery {
		p.unchecked = 0
		if now := time.Now(); now.After(p.next) {
			p.extend(now)
		}
	}
	return n, err
}

// extend sets the deadline to timeout and slack from now. The deadline is
// not moved again before slack has passed, so the reader has at least
// timeout from the last progress seen to take more.
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

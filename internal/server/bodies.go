package server

import (
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/montool/montool/internal/event"
)

// bodyBudget bounds the memory that the bodies of the requests in flight
// hold all together, as sent and decompressed. Each request holds up to
// freeBodyBytes outside it, as its connection holds buffers of its own;
// past that its buffers grow only by what it can take from the budget, and
// a request that finds the budget spent is refused with 503. So slow or
// stalled senders cannot make the server hold more than the budget,
// however many connections they open.
type bodyBudget struct {
	left atomic.Int64 // bytes not taken by a request
}

// freeBodyBytes is what each request body may hold outside the budget:
// enough for single events and small batches, so that they are served
// while large bodies have spent the budget.
const freeBodyBytes = 16 << 10

// minBodyRoom is the least a body buffer of unknown size grows by.
const minBodyRoom = 4 << 10

func newBodyBudget(n int64) *bodyBudget {
	b := new(bodyBudget)
	b.left.Store(n)
	return b
}

// bodyHold is what one request holds of a bodyBudget.
type bodyHold struct {
	budget *bodyBudget
	size   int64 // the bytes of the request's buffers, garbage of their growth included
	taken  int64 // of them, those taken from the budget
}

// grow reports whether the request's buffers may grow by n bytes, and
// takes them from the budget if so.
func (h *bodyHold) grow(n int64) bool {
	need := max(0, h.size+n-freeBodyBytes)
	if more := need - h.taken; more > 0 {
		if h.budget.left.Add(-more) < 0 {
			h.budget.left.Add(more)
			return false
		}
		h.taken = need
	}
	h.size += n
	return true
}

// release gives back what the request took.
func (h *bodyHold) release() { h.budget.left.Add(h.taken) }

// errBodiesFull refuses a body that the budget of request bodies has no
// room for.
var errBodiesFull = &event.Error{Kind: errOverloaded, Message: "the server holds as many request bodies as its max_body_memory lets it: nothing was applied; send it again shortly"}

// readBody reads the request body into b.body, holding its buffers in h.
// A gzip body is read whole as sent, then decompressed at once, so that a
// body that stalls holds no more than what was sent of it. The limit
// applies to the body as sent and to the body decompressed.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, b *batch, h *bodyHold) error {
	limit := s.cfg.MaxBodyBytes
	tooLarge := &event.Error{Kind: event.ErrTooLarge, Message: "request body is larger than the limit of " + strconv.FormatInt(limit, 10) + " bytes"}
	if r.ContentLength > limit {
		return tooLarge
	}
	src := http.MaxBytesReader(w, r.Body, limit)
	if !isGzip(r.Header.Get("Content-Encoding")) {
		var err error
		b.body, err = readAll(src, b.body, r.ContentLength, limit, h, tooLarge)
		return err
	}
	var err error
	if b.packed, err = readAll(src, b.packed, r.ContentLength, limit, h, tooLarge); err != nil {
		return err
	}
	// A gzip trailer ends with the size decompressed (mod 2^32): a hint of
	// the room to make, which a damaged body may get wrong.
	size := int64(-1)
	if n := len(b.packed); n >= gzipMinSize {
		if hint := int64(binary.LittleEndian.Uint32(b.packed[n-4:])); hint <= limit {
			size = hint
		}
	}
	b.packedReader.Reset(b.packed)
	zr, err := s.gzipReader(&b.packedReader)
	if err != nil {
		return bodyError(err, tooLarge, 0)
	}
	defer s.gzipReaders.Put(zr)
	b.body, err = readAll(zr, b.body, size, limit, h, tooLarge)
	return err
}

// gzipMinSize is the size of the smallest gzip stream: header and trailer.
const gzipMinSize = 18

// readAll reads src to its end into buf, reused from its start, and
// returns it. size is how long src says it is, or -1: with it, buf is
// made that size at once, with no garbage of growth; else, and when src
// turns out longer, buf doubles. Every byte buf takes is held in h first.
func readAll(src io.Reader, buf []byte, size, limit int64, h *bodyHold, tooLarge error) ([]byte, error) {
	buf = buf[:0]
	if c := int64(cap(buf)); c > 0 && !h.grow(c) {
		buf = nil // a pooled buffer the budget cannot cover is left to the collector
	}
	if want := size + 1; size >= 0 && int64(cap(buf)) < want { // one byte more, in which EOF is seen
		if !h.grow(want) {
			return buf, errBodiesFull
		}
		buf = make([]byte, 0, want)
	}
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf, tooLarge
			}
			// Double, up to one byte past the limit, which tells a body
			// over it.
			want := min(int64(len(buf)+max(len(buf), minBodyRoom)), limit+1)
			if !h.grow(want) {
				return buf, errBodiesFull
			}
			grown := make([]byte, len(buf), want)
			copy(grown, buf)
			buf = grown
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, bodyError(err, tooLarge, len(buf))
		}
	}
	if int64(len(buf)) > limit {
		return buf, tooLarge
	}
	return buf, nil
}

// errRequestTimeout is the kind of error for a body that did not arrive in
// time.
var errRequestTimeout = errors.New("request timeout")

// bodyError words an error of reading a body of which read bytes came: a
// body over the limit, one that did not arrive in time, a gzip body that
// is not gzip or is damaged, or one that could not be read.
func bodyError(err, tooLarge error, read int) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return tooLarge
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &event.Error{Kind: errRequestTimeout, Message: "the request body did not arrive within the server's read timeout (" + strconv.Itoa(read) + " bytes came): send it again, faster or in smaller requests"}
	case errors.Is(err, io.EOF):
		return &event.Error{Kind: event.ErrInvalid, Message: "the gzip body is empty: send an event object or an array of event objects, compressed"}
	case errors.Is(err, gzip.ErrHeader) && read == 0:
		return &event.Error{Kind: event.ErrInvalid, Message: "the body is not gzip, though its Content-Encoding says so: it does not start with a gzip header"}
	case errors.Is(err, gzip.ErrHeader):
		return &event.Error{Kind: event.ErrInvalid, Message: "the gzip body goes on past its end with bytes that are not gzip: send the compressed body alone"}
	case errors.Is(err, gzip.ErrChecksum):
		return &event.Error{Kind: event.ErrInvalid, Message: "the gzip body is damaged: its checksum does not match what it holds"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &event.Error{Kind: event.ErrInvalid, Message: "the body ends before its end: it was cut short (" + strconv.Itoa(read) + " bytes came)"}
	}
	return &event.Error{Kind: event.ErrInvalid, Message: "reading the request body failed: " + err.Error()}
}

// gzipReader returns a pooled gzip reader of r, or a new one.
func (s *Server) gzipReader(r io.Reader) (*gzip.Reader, error) {
	if zr, ok := s.gzipReaders.Get().(*gzip.Reader); ok {
		if err := zr.Reset(r); err != nil {
			s.gzipReaders.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(r)
}

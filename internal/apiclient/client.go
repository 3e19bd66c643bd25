// Package apiclient is a Go client of montool's HTTP API. It maps the server's
// error answers back to the domain errors of package event, so callers check
// them with errors.Is as the server does.
package apiclient

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/montool/montool/internal/event"
)

// maxResponseBytes bounds how much of an answer the client reads.
const maxResponseBytes = 256 << 20

// defaultTimeout is how long a client waits for the server, by default.
const defaultTimeout = 30 * time.Second

// Client talks to one montool server. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	http    *http.Client
	token   string        // sent as a bearer token when not empty
	timeout time.Duration // see SetTimeout; 0 for none

	gzipWriters sync.Pool // of *gzip.Writer, reused from one gzip body to the next
}

// New returns a client of the server at baseURL, such as
// "http://127.0.0.1:8080", that sends over httpClient (nil for
// http.DefaultClient's transport) and waits for the server as SetTimeout
// says, 30 s by default. A timeout of httpClient bounds each request as a
// whole, however long its answer: leave it 0 for answers of any size.
func New(baseURL string, httpClient *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: must be http:// or https:// followed by a host, like http://127.0.0.1:8080", baseURL)
	}
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Client{base: u, http: httpClient, timeout: defaultTimeout}, nil
}

// SetTimeout sets how long c waits for the server: for the answer to a
// request to start, and then for each next piece of it, so that a long
// answer that keeps coming, such as a dump of many megabytes, is read
// whole. 0 waits as long as the request's context allows. Call it before c
// is used.
func (c *Client) SetTimeout(d time.Duration) { c.timeout = d }

// SetToken makes c send token as Authorization: Bearer with every
// request; "" sends none. Call it before c is used.
func (c *Client) SetToken(token string) { c.token = token }

// URL returns the server's base URL.
func (c *Client) URL() string { return c.base.String() }

// Error is an error answer of the server.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the API's error code, such as "invalid" or "not_found".
	Code    string
	Message string
	// RetryAfter is the wait the server asked for with Retry-After, if any.
	RetryAfter time.Duration
}

// Error returns the server's message with the status.
func (e *Error) Error() string {
	if e.Message == "" {
		return "server answered " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
	}
	return e.Message + " (HTTP " + strconv.Itoa(e.Status) + ")"
}

// CutError is an answer of the server that ended before its end: its
// status and Bytes of its body came, then the connection failed, or nothing
// more came in time. A dump cut so is not whole.
type CutError struct {
	// Status is the answer's HTTP status code.
	Status int
	// Bytes is how much of the body came.
	Bytes int
	// Err is why the body ended.
	Err error
}

// Error says that the answer was cut short, after how much, and why.
func (e *CutError) Error() string {
	return "the server's answer was cut short after " + strconv.Itoa(e.Bytes) + " bytes: " + e.Err.Error()
}

// Unwrap returns why the body ended.
func (e *CutError) Unwrap() error { return e.Err }

// httpsAnswer starts the body of the 400 that Go's HTTPS server answers a
// plain HTTP request with.
const httpsAnswer = "Client sent an HTTP request to an HTTPS server."

// HTTPSError says that a server was asked over plain HTTP but speaks
// HTTPS, as Go's HTTPS server tells with a 400.
type HTTPSError struct {
	// URL is the server's base URL with https.
	URL string
}

// Error says to use the https URL.
func (e *HTTPSError) Error() string { return "the server speaks HTTPS: use " + e.URL }

// Unwrap returns the domain error kind the code names (event.ErrNotFound
// for "not_found", and so on), or nil.
func (e *Error) Unwrap() error { return event.KindOf(e.Code) }

// Temporary reports whether the same request may succeed later: a 429 or a
// 5xx, but not a 429 limit_exceeded, which says the server's limits on
// clients or keys refuse the events until someone changes them.
func (e *Error) Temporary() bool {
	if e.Code == event.Code(event.ErrLimit) {
		return false
	}
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// SendOptions says how a request of events is encoded.
type SendOptions struct {
	// Gzip compresses the body with gzip and says so with
	// Content-Encoding: gzip.
	Gzip bool
	// Token, when not empty, is sent instead of the client's token.
	Token string
}

// Send posts events: one event as an object, more as a batch. It returns
// the server's summary whenever the server sent one, with an *Error when the
// status is not 2xx (some events may still have been applied: see the
// summary). Any other error means the request failed before an answer.
func (c *Client) Send(ctx context.Context, events ...event.Event) (*event.Summary, error) {
	return c.SendBatch(ctx, events, SendOptions{})
}

// SendBatch posts events in one request as Send does, encoded as opts says.
// The same events always make the same body, so a batch sent again after a
// failure carries exactly what the first attempt carried.
func (c *Client) SendBatch(ctx context.Context, events []event.Event, opts SendOptions) (*event.Summary, error) {
	if len(events) == 0 {
		return nil, errors.New("send: no events")
	}
	body, err := c.encode(events, opts)
	if err != nil {
		return nil, fmt.Errorf("encode events: %w", err)
	}
	req, err := c.newRequest(ctx, http.MethodPost, "/api/v1/events", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+opts.Token)
	}
	if opts.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	raw, err := c.do(req)
	var apiErr *Error
	if err != nil && !errors.As(err, &apiErr) {
		return nil, err
	}
	var sum struct {
		event.Summary
		Accepted *int `json:"accepted"` // nil when the answer has no summary
	}
	if jerr := json.Unmarshal(raw, &sum); jerr != nil || sum.Accepted == nil {
		if apiErr != nil {
			return nil, apiErr // an answer without a summary, such as a proxy's error page
		}
		return nil, fmt.Errorf("read answer of %s: no summary of the events in it", req.URL.Redacted())
	}
	sum.Summary.Accepted = *sum.Accepted
	return &sum.Summary, err
}

// encode returns the JSON body of events, one event as an object and more
// as an array, compressed when opts says so. The body is a new slice each
// time: the request owns it, and the transport may still be reading it
// after the answer has come.
func (c *Client) encode(events []event.Event, opts SendOptions) ([]byte, error) {
	var v any = events
	if len(events) == 1 {
		v = events[0]
	}
	if !opts.Gzip {
		return json.Marshal(v)
	}
	zw, _ := c.gzipWriters.Get().(*gzip.Writer)
	var body bytes.Buffer
	if zw == nil {
		zw = gzip.NewWriter(&body)
	} else {
		zw.Reset(&body)
	}
	defer c.gzipWriters.Put(zw)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return body.Bytes(), nil
}

// Dump returns everything one client holds. An unknown client is an error
// that matches event.ErrNotFound.
func (c *Client) Dump(ctx context.Context, clientID string) (*event.Dump, error) {
	raw, err := c.DumpRaw(ctx, clientID)
	if err != nil {
		return nil, err
	}
	var d event.Dump
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("read dump of client %q: %w", clientID, err)
	}
	return &d, nil
}

// DumpRaw returns the dump of one client as the server wrote it.
func (c *Client) DumpRaw(ctx context.Context, clientID string) ([]byte, error) {
	return c.DumpQuery(ctx, clientID, nil)
}

// DumpQuery returns the dump of one client as the server wrote it, with
// the query parameters of the dump endpoint (key, from, to, limit, format).
func (c *Client) DumpQuery(ctx context.Context, clientID string, query url.Values) ([]byte, error) {
	path := "/api/v1/clients/" + url.PathEscape(clientID) + "/events"
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	req, err := c.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	return c.do(req)
}

// Clients lists the clients the server knows.
func (c *Client) Clients(ctx context.Context) ([]event.ClientInfo, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/api/v1/clients", nil)
	if err != nil {
		return nil, err
	}
	raw, err := c.do(req)
	if err != nil {
		return nil, err
	}
	var list struct {
		Clients []event.ClientInfo `json:"clients"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("read client list: %w", err)
	}
	return list.Clients, nil
}

// Health checks that the server answers.
func (c *Client) Health(ctx context.Context) error {
	req, err := c.newRequest(ctx, http.MethodGet, "/healthz", nil)
	if err != nil {
		return err
	}
	_, err = c.do(req)
	return err
}

func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return nil, fmt.Errorf("build request %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "montool")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// errNoProgress ends a request on which nothing came from the server for
// the client's timeout.
var errNoProgress = errors.New("no progress")

// do sends req and returns the body of a 2xx answer, or the body and an
// *Error for any other status. An answer that ends before its end is a
// *CutError. With a timeout, the request ends when nothing comes for that
// long: neither the answer's start nor, later, more of its body.
func (c *Client) do(req *http.Request) ([]byte, error) {
	var timer *time.Timer
	if c.timeout > 0 {
		ctx, cancel := context.WithCancelCause(req.Context())
		defer cancel(nil)
		timer = time.AfterFunc(c.timeout, func() { cancel(errNoProgress) })
		defer timer.Stop()
		req = req.WithContext(ctx)
	}
	// stalled words err as the timeout when it is why the request ended.
	stalled := func(err error) error {
		if context.Cause(req.Context()) == errNoProgress {
			return fmt.Errorf("nothing came for %s", c.timeout)
		}
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // it repeats the method and URL, which the message below gives
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), stalled(err))
	}
	defer resp.Body.Close()
	var in io.Reader = resp.Body
	if timer != nil {
		timer.Reset(c.timeout)
		in = &progressReader{r: in, timer: timer, timeout: c.timeout}
	}
	raw, err := io.ReadAll(io.LimitReader(in, maxResponseBytes))
	if err != nil {
		cut := &CutError{Status: resp.StatusCode, Bytes: len(raw), Err: stalled(err)}
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), cut)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return raw, nil
	}
	if resp.StatusCode == http.StatusBadRequest && req.URL.Scheme == "http" && bytes.HasPrefix(raw, []byte(httpsAnswer)) {
		u := *c.base
		u.Scheme = "https"
		return nil, &HTTPSError{URL: u.String()}
	}
	apiErr := &Error{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &body) == nil {
		apiErr.Code, apiErr.Message = body.Error.Code, body.Error.Message
	}
	return raw, apiErr
}

// retryAfter reads a Retry-After header given in seconds.
func retryAfter(v string) time.Duration {
	secs, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || secs < 0 {
		return 0
	}
	return time.Duration(secs) * time.Second
}

// progressReader reads an answer's body and gives the request its timeout
// again each time some of it comes.
type progressReader struct {
	r       io.Reader
	timer   *time.Timer
	timeout time.Duration
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.timer.Reset(p.timeout)
	}
	return n, err
}

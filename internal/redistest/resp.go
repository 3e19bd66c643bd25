package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// commandTimeout bounds one Do: dialing, sending and reading the reply.
const commandTimeout = 5 * time.Second

// Error is an error reply of a Redis server ("-MOVED 3999 127.0.0.1:7002",
// "-LOADING ..."), without its leading minus.
type Error string

// Error returns the reply as the server sent it.
func (e Error) Error() string { return string(e) }

// Conn is one connection to a Redis server on a loopback address, for a
// test that sends several commands on it (WAIT and READONLY act on their
// connection). It is not safe for concurrent use.
type Conn struct {
	addr string
	conn net.Conn
	r    *bufio.Reader
}

// Dial connects to the Redis server at addr, which must be a loopback
// address, within 5 s.
func Dial(addr string) (*Conn, error) {
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	conn, err := net.DialTimeout("tcp", addr, commandTimeout)
	if err != nil {
		return nil, err
	}
	return &Conn{addr: addr, conn: conn, r: bufio.NewReader(conn)}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.conn.Close() }

// Do sends one command and returns its reply: a string for a simple
// string or a bulk string, an int64 for an integer, nil for a null, a
// []any for an array. An error reply is returned as the error, of type
// Error. It gives up after 5 s.
func (c *Conn) Do(args ...string) (any, error) {
	if err := c.conn.SetDeadline(time.Now().Add(commandTimeout)); err != nil {
		return nil, err
	}
	if _, err := c.conn.Write(appendCommand(nil, args)); err != nil {
		return nil, fmt.Errorf("send %s to %s: %w", commandName(args), c.addr, err)
	}
	reply, err := readReply(c.r)
	if err != nil {
		return nil, fmt.Errorf("read the reply of %s from %s: %w", commandName(args), c.addr, err)
	}
	if e, ok := reply.(Error); ok {
		return nil, e
	}
	return reply, nil
}

// Do sends one command to the Redis server at addr, on a connection of
// its own, and returns its reply as Conn.Do does.
func Do(addr string, args ...string) (any, error) {
	c, err := Dial(addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Do(args...)
}

// doString is Do for a command whose reply is a string (PING, INFO,
// CLUSTER INFO, GET of a key that is set).
func doString(addr string, args ...string) (string, error) {
	reply, err := Do(addr, args...)
	if err != nil {
		return "", err
	}
	s, ok := reply.(string)
	if !ok {
		return "", fmt.Errorf("%s on %s: the reply is %T, not a string", commandName(args), addr, reply)
	}
	return s, nil
}

func commandName(args []string) string {
	if len(args) == 0 {
		return "an empty command"
	}
	return strings.ToUpper(args[0])
}

// checkLoopback refuses an address that is not on this machine.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not a loopback address", addr)
	}
	return nil
}

// appendCommand appends args to b as a RESP array of bulk strings, the
// form every command is sent in.
func appendCommand(b []byte, args []string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// maxBulk bounds the length of one bulk string or array read, so that a
// corrupt length does not allocate without end.
const maxBulk = 64 << 20

var errProtocol = errors.New("not a RESP2 reply")

// readReply reads one RESP2 reply. An error reply is returned as a value
// of type Error, not as the error: it is an answer.
func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: line %q", errProtocol, line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+':
		return body, nil
	case '-':
		return Error(body), nil
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: integer %q", errProtocol, body)
		}
		return n, nil
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > maxBulk {
			return nil, fmt.Errorf("%w: bulk length %q", errProtocol, body)
		}
		if n == -1 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		if buf[n] != '\r' || buf[n+1] != '\n' {
			return nil, fmt.Errorf("%w: bulk string of %d bytes not ended by CRLF", errProtocol, n)
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > maxBulk {
			return nil, fmt.Errorf("%w: array length %q", errProtocol, body)
		}
		if n == -1 {
			return nil, nil
		}
		arr := make([]any, n)
		for i := range arr {
			if arr[i], err = readReply(r); err != nil {
				return nil, err
			}
		}
		return arr, nil
	}
	return nil, fmt.Errorf("%w: line %q", errProtocol, line)
}

// infoField returns the value of field in the text of INFO or CLUSTER
// INFO ("field:value" lines), and whether it is there.
func infoField(info, field string) (string, bool) {
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
		if ok && k == field {
			return v, true
		}
	}
	return "", false
}

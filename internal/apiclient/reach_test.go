package apiclient_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/apiclient"
)

// TestReachError: an error that is not the server's answer is worded as
// the server out of reach, or as what to change to reach it; the server's
// answers pass as they are.
func TestReachError(t *testing.T) {
	c, err := apiclient.New("http://127.0.0.1:8080", nil)
	if err != nil {
		t.Fatal(err)
	}
	answer := &apiclient.Error{Status: 404, Code: "not_found", Message: "no such client"}
	cut := &apiclient.CutError{Status: 200, Bytes: 10, Err: errors.New("unexpected EOF")}
	refused := errors.New("dial tcp 127.0.0.1:8080: connect: connection refused")
	verify := func(err error) error { return &tls.CertificateVerificationError{Err: err} }
	from := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	const skip = "or --insecure-skip-verify to not check it"
	tests := []struct {
		name string
		err  error
		want string // "" for nil
	}{
		{"no error", nil, ""},
		{"the server's answer", answer, answer.Error()},
		{"an answer cut short", cut, cut.Error()},
		{"plain HTTP to HTTPS", &apiclient.HTTPSError{URL: "https://127.0.0.1:8080"},
			"the montool server at http://127.0.0.1:8080 speaks HTTPS: give --server https://127.0.0.1:8080"},
		{"an unknown authority", verify(x509.UnknownAuthorityError{}),
			"the certificate of the montool server at http://127.0.0.1:8080 is not trusted (it is signed by an authority this machine does not know): pass --ca-cert FILE, a PEM file of the authority that signed it, " + skip},
		{"another host's", verify(x509.HostnameError{Host: "127.0.0.1", Certificate: &x509.Certificate{DNSNames: []string{"example.com"}, IPAddresses: []net.IP{net.IPv4(10, 0, 0, 1)}}}),
			"the certificate of the montool server at http://127.0.0.1:8080 is not trusted: it is for example.com, 10.0.0.1, not 127.0.0.1; give --server with a name it is for, " + skip},
		{"expired", verify(x509.CertificateInvalidError{Reason: x509.Expired, Cert: &x509.Certificate{NotBefore: from, NotAfter: from.AddDate(1, 0, 0)}}),
			"the certificate of the montool server at http://127.0.0.1:8080 is not trusted: it is valid from 2025-01-02T03:04:05Z to 2026-01-02T03:04:05Z only; renew it, " + skip},
		{"refused otherwise", verify(errors.New("x509: something else")),
			"the certificate of the montool server at http://127.0.0.1:8080 is not trusted: pass --ca-cert FILE, a PEM file of the authority that signed it, " + skip},
		{"out of reach", refused, "cannot reach the montool server at http://127.0.0.1:8080: " + refused.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.ReachError(tt.err)
			if tt.want == "" {
				if got != nil {
					t.Fatalf("got %v, want nil", got)
				}
				return
			}
			if got == nil || got.Error() != tt.want {
				t.Fatalf("got  %v\nwant %s", got, tt.want)
			}
			if (tt.err == answer || tt.err == cut) && got != tt.err {
				t.Errorf("the server's answer came back as %#v, want it as it was", got)
			}
			if errors.Is(tt.err, refused) && !errors.Is(got, refused) {
				t.Errorf("%v does not wrap its cause", got)
			}
		})
	}
}

// TestReach: a server that answers its health check is reached; one that
// answers with an error, or not at all, is out of reach, and one that
// speaks HTTPS says so.
func TestReach(t *testing.T) {
	tlsServer, _ := newTLSServer(t)
	tests := []struct {
		name string
		url  string
		want string // "" for reached
	}{
		{"a montool server", startServer(t, realHandler(t)).URL, ""},
		{"an error answer", startServer(t, fixed(503, nil, `{"error":{"code":"unavailable","message":"not ready"}}`)).URL, "cannot reach the montool server at http://127.0.0.1:"},
		{"no server", closedURL(t), "cannot reach the montool server at http://127.0.0.1:"},
		{"an HTTPS server", "http://" + tlsServer.Listener.Addr().String(), "speaks HTTPS: give --server " + tlsServer.URL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.url)
			err := c.Reach(t.Context())
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want the server reached", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error holding %q", err, tt.want)
			}
		})
	}
}

package apiclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Reach checks that the server answers its health check within 5 s: nil
// when it does, else why not, worded as ReachError words it, and an error
// answer of the server as the server out of reach.
func (c *Client) Reach(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := c.Health(ctx)
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return fmt.Errorf("cannot reach the montool server at %s: %w", c.URL(), err)
	}
	return c.ReachError(err)
}

// ReachError words an error of c that is not an answer of the server as
// the server being out of reach, or, when the server answered plain HTTP
// as an HTTPS server or its certificate is not trusted, says which flag of
// montool's client commands to change; the server's answers, whole or cut
// short, pass as they are, and so does nil.
func (c *Client) ReachError(err error) error {
	var apiErr *Error
	var cut *CutError
	if err == nil || errors.As(err, &apiErr) || errors.As(err, &cut) {
		return err
	}
	var https *HTTPSError
	if errors.As(err, &https) {
		return fmt.Errorf("the montool server at %s speaks HTTPS: give --server %s", c.URL(), https.URL)
	}
	if msg := certificateError(err); msg != "" {
		return fmt.Errorf("the certificate of the montool server at %s %s", c.URL(), msg)
	}
	return fmt.Errorf("cannot reach the montool server at %s: %w", c.URL(), err)
}

// certificateError words why the server's certificate was refused, with
// what to pass instead, or returns "" when err is not about it.
func certificateError(err error) string {
	var verify *tls.CertificateVerificationError
	if !errors.As(err, &verify) {
		return ""
	}
	const skip = "or --insecure-skip-verify to not check it"
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return "is not trusted (it is signed by an authority this machine does not know): pass --ca-cert FILE, a PEM file of the authority that signed it, " + skip
	case errors.As(err, &host):
		names := host.Certificate.DNSNames
		for _, ip := range host.Certificate.IPAddresses {
			names = append(names, ip.String())
		}
		return fmt.Sprintf("is not trusted: it is for %s, not %s; give --server with a name it is for, %s", strings.Join(names, ", "), host.Host, skip)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return fmt.Sprintf("is not trusted: it is valid from %s to %s only; renew it, %s",
			invalid.Cert.NotBefore.UTC().Format(time.RFC3339), invalid.Cert.NotAfter.UTC().Format(time.RFC3339), skip)
	}
	return "is not trusted: pass --ca-cert FILE, a PEM file of the authority that signed it, " + skip
}

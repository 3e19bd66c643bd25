package apiclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
)

// TLSConfig returns the TLS settings of a client of an https:// server
// that trusts the certificate authorities of the PEM file caCert besides
// the system's ("" for none of its own), or, with insecureSkipVerify, any
// certificate; nil for the defaults when neither is asked for. Its errors
// name caCert by the flag of montool's client commands that gives it,
// --ca-cert.
func TLSConfig(caCert string, insecureSkipVerify bool) (*tls.Config, error) {
	if caCert == "" && !insecureSkipVerify {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecureSkipVerify}
	if caCert != "" {
		pem, err := os.ReadFile(caCert)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-cert %s: no PEM certificate in it", caCert)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// HTTPClient returns the HTTP client for New of a client that sends over
// tlsCfg (nil for the defaults) and keeps up to idlePerHost idle
// connections to its server (0 for net/http's default): nil, for New's
// default, when it asks for neither. It has no timeout of its own: the
// Client's bounds how long nothing comes (see SetTimeout), so that a long
// answer that keeps coming is read whole.
func HTTPClient(tlsCfg *tls.Config, idlePerHost int) *http.Client {
	if tlsCfg == nil && idlePerHost == 0 {
		return nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = tlsCfg
	t.MaxIdleConnsPerHost = idlePerHost
	return &http.Client{Transport: t}
}

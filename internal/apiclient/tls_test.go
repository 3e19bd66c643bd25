package apiclient_test

import (
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/montool/montool/internal/apiclient"
)

// newTLSServer starts a real montool server over HTTPS, with a
// self-signed certificate, and returns it with a PEM file of that
// certificate.
func newTLSServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	ts := httptest.NewUnstartedServer(realHandler(t))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes these tests fail on purpose
	ts.StartTLS()
	t.Cleanup(ts.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return ts, ca
}

// TestTLSConfig: a client trusts the authorities of the file it is
// given, or any certificate when told to, and says what is wrong with a
// file it cannot use.
func TestTLSConfig(t *testing.T) {
	ts, ca := newTLSServer(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name     string
		caCert   string
		insecure bool
		wantErr  string // "" for a client that reaches ts
	}{
		{name: "its authority", caCert: ca},
		{name: "any certificate", insecure: true},
		{name: "the defaults", wantErr: "is not trusted (it is signed by an authority this machine does not know)"},
		{name: "a file that is not PEM", caCert: notPEM, wantErr: "--ca-cert " + notPEM + ": no PEM certificate in it"},
		{name: "a file that is not there", caCert: missing, wantErr: "--ca-cert: open " + missing + ": "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := apiclient.TLSConfig(tt.caCert, tt.insecure)
			if err == nil {
				var c *apiclient.Client
				if c, err = apiclient.New(ts.URL, apiclient.HTTPClient(cfg, 0)); err != nil {
					t.Fatal(err)
				}
				err = c.ReachError(c.Health(t.Context()))
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want the server reached", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error holding %q", err, tt.wantErr)
			}
		})
	}
}

// TestTLSConfigDefaults: asked for nothing, TLSConfig and HTTPClient
// leave the defaults to net/http and New.
func TestTLSConfigDefaults(t *testing.T) {
	cfg, err := apiclient.TLSConfig("", false)
	if cfg != nil || err != nil {
		t.Errorf("TLSConfig(\"\", false) = %v, %v; want nil, nil", cfg, err)
	}
	if hc := apiclient.HTTPClient(nil, 0); hc != nil {
		t.Errorf("HTTPClient(nil, 0) = %v, want nil", hc)
	}
	if hc := apiclient.HTTPClient(nil, 8); hc == nil {
		t.Error("HTTPClient(nil, 8) = nil, want a client that keeps 8 idle connections")
	}
}

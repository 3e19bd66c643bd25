package cmd

import (
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// newTLSTestServer starts a real montool server over HTTPS, with a
// self-signed certificate, and returns it.
func newTLSTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv, err := server.New(server.DefaultConfig(), storetest.NewMemory(t, store.Policy{}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes these tests fail on purpose
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts
}

// TestTLSErrors: talking plain HTTP to an HTTPS server, or HTTPS to one
// whose certificate is not trusted, says what to change in one line.
func TestTLSErrors(t *testing.T) {
	ts := newTLSTestServer(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	plain := "http://" + ts.Listener.Addr().String()
	tests := []struct {
		name string
		args []string
		want []string // "" for success
	}{
		{"plain HTTP to HTTPS", []string{"clients", "--server", plain}, []string{"speaks HTTPS", ts.URL}},
		{"plain HTTP to HTTPS (dump)", []string{"dump", "web-01", "--server", plain}, []string{"speaks HTTPS", ts.URL}},
		{"plain HTTP to HTTPS (agents)", []string{"agents", "--duration", "1s", "--server", plain}, []string{"speaks HTTPS", ts.URL}},
		{"an untrusted certificate", []string{"clients", "--server", ts.URL}, []string{"certificate", "not trusted", "--ca-cert FILE", "--insecure-skip-verify"}},
		{"an untrusted certificate (send)", []string{"send", "--key", "k", "--value", "1", "--server", ts.URL}, []string{"not trusted", "--ca-cert FILE"}},
		{"its authority given", []string{"clients", "--server", ts.URL, "--ca-cert", ca}, nil},
		{"no check", []string{"clients", "--server", ts.URL, "--insecure-skip-verify"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			_, _, err := execute(t, runners{}, tt.args...)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkOneLine(t, err, tt.want...)
			if msg := err.Error(); strings.Contains(msg, "x509") || strings.Contains(msg, "400") {
				t.Errorf("error %q shows what the user has no use for", msg)
			}
		})
	}
}

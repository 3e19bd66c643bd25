package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/auth"
	"github.com/montool/montool/internal/server"
)

// writeCert makes a self-signed certificate for 127.0.0.1 and writes it and
// its key as PEM files in dir; it returns their paths and the certificate.
func writeCert(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "montool test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true,

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// TestTLS serves HTTPS with a certificate made in the test: a client that
// trusts it is served, one that does not, or that offers only TLS 1.1, is
// refused, and plain HTTP gets no answer from the API.
func TestTLS(t *testing.T) {
	certFile, keyFile, cert := writeCert(t, t.TempDir())
	cfg := testConfig()
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	r := startRun(t, cfg, discardLogger())
	trusted := x509.NewCertPool()
	trusted.AddCert(cert)

	tests := []struct {
		name    string
		tls     *tls.Config
		wantErr string // "" for a 200
	}{
		{"trusted", &tls.Config{RootCAs: trusted}, ""},
		{"TLS 1.2 only", &tls.Config{RootCAs: trusted, MaxVersion: tls.VersionTLS12}, ""},
		{"not trusted", &tls.Config{}, "certificate"},
		{"TLS 1.1 at most", &tls.Config{RootCAs: trusted, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, "protocol version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tt.tls}}
			resp, err := c.Get("https://" + r.addr + "/healthz")
			if tt.wantErr != "" {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("GET: status %d, want an error containing %q", resp.StatusCode, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("GET: %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.TLS == nil {
				t.Errorf("GET: status %d, TLS %v; want 200 over TLS", resp.StatusCode, resp.TLS != nil)
			}
		})
	}
	t.Run("plain HTTP", func(t *testing.T) {
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get("http://" + r.addr + "/healthz")
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Errorf("plain HTTP: status 200, want no API answer")
			}
		}
	})
}

func TestTLSConfigErrors(t *testing.T) {
	certFile, keyFile, _ := writeCert(t, t.TempDir())
	tests := []struct {
		name      string
		cert, key string
		wantErr   string
	}{
		{"certificate without key", certFile, "", "TLS needs both a certificate file and a key file"},
		{"key without certificate", "", keyFile, "TLS needs both a certificate file and a key file"},
		{"missing file", filepath.Join(t.TempDir(), "nope.pem"), keyFile, "nope.pem"},
		{"key for the certificate swapped", keyFile, certFile, "TLS certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.TLSCert, cfg.TLSKey = tt.cert, tt.key
			_, err := server.New(cfg, nil, discardLogger())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestTokensOverTLS sends a token over HTTPS: the rules are the same as
// over HTTP.
func TestTokensOverTLS(t *testing.T) {
	certFile, keyFile, cert := writeCert(t, t.TempDir())
	secret := auth.NewSecret()
	tokens, err := auth.NewSet([]auth.Token{{Name: "web", Hash: auth.Hash(secret), Role: auth.RoleIngest, Clients: []string{"web-*"}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.TLSCert, cfg.TLSKey, cfg.Tokens = certFile, keyFile, tokens
	r := startRun(t, cfg, discardLogger())
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, tt := range []struct {
		name, token, client string
		want                int
	}{
		{"no token", "", "web-01", http.StatusUnauthorized},
		{"its client", secret, "web-01", http.StatusAccepted},
		{"another client", secret, "db-01", http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, "https://"+r.addr+"/api/v1/events", strings.NewReader(cum(tt.client, "e1", ts0, "requests", 1)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

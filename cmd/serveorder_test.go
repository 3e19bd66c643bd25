package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeValidatesBeforeWarning: a setting serve cannot start with is
// refused, naming the flag, before anything is logged, the open-mode
// warning included.
func TestServeValidatesBeforeWarning(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"a certificate without its key", []string{"--tls-cert", notPEM}, []string{"--tls-cert", "--tls-key"}},
		{"a key without its certificate", []string{"--tls-key", notPEM}, []string{"--tls-key", "--tls-cert"}},
		{"a certificate that is not one", []string{"--tls-cert", notPEM, "--tls-key", notPEM}, []string{"TLS certificate", notPEM}},
		{"no batch at all", []string{"--max-batch-events", "0"}, []string{"max batch events"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			stderr, srv, _ := startServe(t, append([]string{"--addr", "127.0.0.1:0"}, tt.args...)...)
			err := srv.wait(t, 10*time.Second)
			checkOneLine(t, err, tt.want...)
			if log := stderr.String(); strings.TrimSpace(log) != "" {
				t.Errorf("serve logged before refusing to start:\n%s", log)
			}
		})
	}
}

package termtext

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestIsTerminal: neither a buffer nor a regular file is a terminal.
func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, w := range map[string]interface{ Write([]byte) (int, error) }{"a buffer": new(bytes.Buffer), "a file": f} {
		if IsTerminal(w) {
			t.Errorf("IsTerminal(%s) = true", name)
		}
	}
}

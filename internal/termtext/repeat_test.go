package termtext

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestRepeat draws until the context ends: each draw is followed by the
// line that says how often, a failed draw shows its error and is tried
// again, and the output ends with a line of its own.
func TestRepeat(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	draws := 0
	err := Repeat(ctx, &out, 10*time.Millisecond, func(_ context.Context, w io.Writer) error {
		draws++
		switch draws {
		case 2:
			return errors.New("boom")
		case 3:
			cancel()
		}
		_, err := io.WriteString(w, "drawn\n")
		return err
	})
	if err != nil {
		t.Fatalf("Repeat = %v", err)
	}
	got := out.String()
	if draws != 3 || strings.Count(got, "drawn\n") != 2 || !strings.Contains(got, "montool: boom\n") {
		t.Errorf("after %d draws the output is %q; want 3 draws, 2 drawn and the error of the second", draws, got)
	}
	if n := strings.Count(got, "(every 10ms, Ctrl-C to stop; "); n != 3 {
		t.Errorf("%d lines say how often, want one a draw: %q", n, got)
	}
	if !strings.HasSuffix(got, ")\n\n") || strings.Contains(got, "\033[") {
		t.Errorf("output %q: want no screen clearing off a terminal, and a line of its own at the end", got)
	}
}

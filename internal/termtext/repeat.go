package termtext

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"
)

// Repeat calls draw every interval until ctx ends, each time writing what
// it drew to w at once, followed by a line that says how often and when:
// in place on a terminal (the screen is cleared first), else one after the
// other. A draw that fails shows its error in its place and is tried again
// at the next interval. Once ctx ends, Repeat ends the line it is on, so
// that what comes next (the shell's prompt after a ^C) has one of its own,
// and returns nil, or the error of writing to w.
func Repeat(ctx context.Context, w io.Writer, interval time.Duration, draw func(ctx context.Context, w io.Writer) error) error {
	inPlace := IsTerminal(w)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		var b bytes.Buffer
		if inPlace {
			b.WriteString("\033[H\033[2J")
		}
		if err := draw(ctx, &b); err != nil {
			if ctx.Err() != nil {
				_, err := io.WriteString(w, "\n")
				return err
			}
			fmt.Fprintf(&b, "montool: %v\n", err)
		}
		fmt.Fprintf(&b, "\n(every %s, Ctrl-C to stop; %s)\n", interval, time.Now().Format(time.TimeOnly))
		if _, err := b.WriteTo(w); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			_, err := io.WriteString(w, "\n")
			return err
		case <-t.C:
		}
	}
}

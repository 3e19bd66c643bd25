// Command montool is a push-based monitoring server, its simulated agents
// and its command-line clients. Run `montool --help` for the commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/montool/montool/cmd"
)

func main() {
	os.Exit(run())
}

func run() int {
	// Installed before anything listens, so that a signal at any moment is
	// a clean shutdown. After the first signal the default behaviour comes
	// back: a second Ctrl-C ends the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)

	if err := cmd.NewRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "montool:", err)
		return 1
	}
	return 0
}

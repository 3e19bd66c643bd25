package dumpformat

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/termtext"
)

// WriteClients writes the client list as a table for people, a client a
// row with its events, and a line of how many clients and events in all.
func WriteClients(w io.Writer, clients []event.ClientInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tEVENTS")
	var total int64
	for _, ci := range clients {
		fmt.Fprintf(tw, "%s\t%d\n", termtext.Printable(ci.ClientID), ci.Events)
		total += ci.Events
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s, %s\n", counted(int64(len(clients)), "client"), counted(total, "event"))
	return err
}

// counted says n things: "1 client", "2 clients".
func counted(n int64, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.FormatInt(n, 10) + " " + thing + "s"
}

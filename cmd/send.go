package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/montool/montool/internal/agent"
	"github.com/montool/montool/internal/cmdline"
	"github.com/montool/montool/internal/configkey"
	"github.com/montool/montool/internal/event"
)

// sendOptions holds what `montool send` runs with.
type sendOptions struct {
	clientOptions
	Event event.Event
	Out   io.Writer
}

// sendFlags are the raw flags of `montool send`, resolved into an event.
type sendFlags struct {
	key, value, typ, clientID, eventID, timestamp string
}

func newSendCmd(root *rootOptions, runF func(context.Context, *sendOptions) error) *cobra.Command {
	opts := &sendOptions{}
	var f sendFlags
	cmd := &cobra.Command{
		Use:   "send --key KEY --value VALUE",
		Short: "Send one event and print the server's answer",
		Long: `Send one event to the server and print the server's answer as JSON. Only
--key and --value are needed; the other flags say what they default to.`,
		Example: `  montool send --key cpu_usage_percent --value 37.5
  montool send --key http_requests_total --value 3 --type CUMULATIVE
  montool send --key disk_free_bytes --value 1e9 --timestamp 2026-11-26T10:00:00Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, err := keySpecs(root.Config)
			if err != nil {
				return err
			}
			ev, err := f.event(keys, time.Now(), os.Hostname)
			if err != nil {
				return err
			}
			if opts.clientOptions, err = root.clientOptions(); err != nil {
				return err
			}
			opts.Event, opts.Out = ev, cmd.OutOrStdout()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runSend(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.key, "key", "", "event key (required)")
	fs.StringVar(&f.value, "value", "", "event value, a number (required)")
	fs.StringVar(&f.typ, "type", "", "CUMULATIVE or TIME-SERIES (default: the key's type in the key set — the config's keys list, else the built-in keys — else TIME-SERIES)")
	fs.StringVar(&f.clientID, "client-id", "", "client id (default: the configured client_id, else a UUID derived from the host name)")
	fs.StringVar(&f.eventID, "event-id", "", "event id (default: a new UUID)")
	fs.StringVar(&f.timestamp, "timestamp", "", "event time: Unix seconds, ms, µs or ns, or RFC 3339 (default: now)")
	configkey.Bind(fs, "", "client-id")
	for _, name := range []string{"key", "value"} {
		if err := cmd.MarkFlagRequired(name); err != nil {
			panic(err) // a flag name misspelt in this function
		}
	}
	return cmd
}

// event resolves the flags into an event, filling in the defaults.
func (f *sendFlags) event(keys []agent.KeySpec, now time.Time, hostname func() (string, error)) (event.Event, error) {
	ev := event.Event{Key: f.key, ClientID: f.clientID, ID: f.eventID, Type: event.TimeSeries, Timestamp: event.FromTime(now)}
	var err error
	if ev.Value, err = event.ParseValue(f.value); err != nil {
		return ev, fmt.Errorf("--value %q: must be a finite number such as 3, -0.5 or 1e3", f.value)
	}
	if f.typ != "" {
		if ev.Type, err = event.ParseType(f.typ); err != nil {
			return ev, fmt.Errorf("--type: %w", err)
		}
	} else {
		for _, k := range keys {
			if k.Name == f.key {
				ev.Type = k.Type
			}
		}
	}
	if ev.ClientID == "" {
		host, err := hostname()
		if err != nil {
			return ev, fmt.Errorf("no --client-id given and the host name is unknown: %w", err)
		}
		ev.ClientID = uuid.NewSHA1(uuid.NameSpaceDNS, []byte(host)).String()
	}
	if ev.ID == "" {
		ev.ID = uuid.NewString()
	}
	ev.ClientID, ev.ID = event.NormalizeID(ev.ClientID), event.NormalizeID(ev.ID)
	if f.timestamp != "" {
		if ev.Timestamp, err = cmdline.ParseTimestamp("timestamp", f.timestamp); err != nil {
			return ev, err
		}
	}
	if err := ev.Validate(); err != nil {
		var e *event.Error
		if errors.As(err, &e) {
			return ev, fmt.Errorf("--%s: %s", flagOfField(e.Field), e.Message)
		}
		return ev, err
	}
	return ev, nil
}

// flagOfField names the flag that sets an event field.
func flagOfField(field string) string {
	return map[string]string{
		event.FieldClientID:  "client-id",
		event.FieldEventID:   "event-id",
		event.FieldTimestamp: "timestamp",
		event.FieldType:      "type",
		event.FieldKey:       "key",
		event.FieldValue:     "value",
	}[field]
}

func runSend(ctx context.Context, opts *sendOptions) error {
	c, err := opts.client(0)
	if err != nil {
		return err
	}
	sum, err := c.Send(ctx, opts.Event)
	if sum != nil {
		out, jerr := json.MarshalIndent(sum, "", "  ")
		if jerr != nil {
			return jerr
		}
		fmt.Fprintf(opts.Out, "%s\n", out)
	}
	return c.ReachError(err)
}

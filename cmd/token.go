package cmd

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/montool/montool/internal/auth"
)

// tokenNewOptions holds what `montool token new` runs with.
type tokenNewOptions struct {
	Name    string
	Role    auth.Role
	Clients []string
	Out     io.Writer
}

func newTokenCmd(runNew func(context.Context, *tokenNewOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Make bearer tokens for a montool server",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newTokenNewCmd(runNew))
	return cmd
}

func newTokenNewCmd(runF func(context.Context, *tokenNewOptions) error) *cobra.Command {
	opts := &tokenNewOptions{}
	var role string
	cmd := &cobra.Command{
		Use:   "new",
		Short: "Make a new token and print it, with the config entry that lets a server take it",
		Long: `Make a new random token and print it once, with the entry to add under
tokens: in the server's config file, which keeps only the token's SHA-256:
give the token to the agent or reader it is for (montool --token).`,
		Example: `  montool token new --role ingest --client web-01
  montool token new --role ingest --client 'web-*' --name web-agents
  montool token new --role read --client '*' --name dashboards`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := auth.ParseRole(role)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			if len(opts.Clients) == 0 {
				return fmt.Errorf("--client: give the client ids the token may act for (an id, a prefix* pattern or *), once each")
			}
			opts.Role, opts.Out = r, cmd.OutOrStdout()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runTokenNew(opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Name, "name", "", "a name for the token, to tell it apart in the config and logs")
	fs.StringVar(&role, "role", "", "ingest, read or admin")
	fs.StringArrayVar(&opts.Clients, "client", nil, "a client id the token may act for, a prefix* pattern or *; repeat for more")
	return cmd
}

func runTokenNew(opts *tokenNewOptions) error {
	return auth.WriteNewToken(opts.Out, auth.NewSecret(), opts.Name, opts.Role, opts.Clients)
}

// tokenSet returns the tokens of the configuration's `tokens` list; none
// when there is no list.
func tokenSet(v *viper.Viper) (*auth.Set, error) {
	var entries []auth.Entry
	if v != nil && v.IsSet("tokens") {
		if err := v.UnmarshalKey("tokens", &entries); err != nil {
			return nil, fmt.Errorf("config tokens: %w", err)
		}
	}
	set, err := auth.NewSetOf(entries)
	if err != nil {
		return nil, fmt.Errorf("config %w", err)
	}
	return set, nil
}

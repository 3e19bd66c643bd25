package cmd

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

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
	secret := auth.NewSecret()
	h := auth.Hash(secret)
	quoted := make([]string, len(opts.Clients))
	for i, c := range opts.Clients {
		quoted[i] = strconv.Quote(c)
	}
	name := opts.Name
	if name == "" {
		name = string(opts.Role) + "-" + hex.EncodeToString(h[:4])
	}
	_, err := fmt.Fprintf(opts.Out, `token: %s
(shown this once: give it to its agent or reader, and keep it secret)

entry for the server's config file, under tokens:
  - name: %s
    sha256: %x
    role: %s
    clients: [%s]
`, secret, strconv.Quote(name), h, opts.Role, strings.Join(quoted, ", "))
	return err
}

// tokenConfig is one entry of the config file's `tokens` list.
type tokenConfig struct {
	Name    string   `mapstructure:"name"`
	SHA256  string   `mapstructure:"sha256"`
	Role    string   `mapstructure:"role"`
	Clients []string `mapstructure:"clients"`
}

// tokenSet returns the tokens of the configuration's `tokens` list; none
// when there is no list.
func tokenSet(v *viper.Viper) (*auth.Set, error) {
	if v == nil || !v.IsSet("tokens") {
		return auth.NewSet(nil)
	}
	var list []tokenConfig
	if err := v.UnmarshalKey("tokens", &list); err != nil {
		return nil, fmt.Errorf("config tokens: %w", err)
	}
	tokens := make([]auth.Token, len(list))
	for i, t := range list {
		h, err := auth.ParseHash(t.SHA256)
		if err != nil {
			return nil, fmt.Errorf("config tokens[%d] (%s): %w", i, t.Name, err)
		}
		tokens[i] = auth.Token{Name: t.Name, Hash: h, Role: auth.Role(t.Role), Clients: t.Clients}
	}
	set, err := auth.NewSet(tokens)
	if err != nil {
		return nil, fmt.Errorf("config tokens: %w", err)
	}
	return set, nil
}

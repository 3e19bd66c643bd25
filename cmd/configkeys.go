package cmd

import (
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/montool/montool/internal/configkey"
)

// structuredKeys returns the top-level config keys that hold lists, read
// whole (see keySpecs and tokenSet) rather than bound to flags.
func structuredKeys() []string { return []string{"keys", "tokens"} }

// configKeys returns every key the configuration may hold: those bound to
// a flag of any command under root, and structuredKeys.
func configKeys(root *cobra.Command) []string { return configkey.All(root, structuredKeys()...) }

// checkConfigKeys refuses the keys of the config file v read that no
// setting reads; see configkey.Check.
func checkConfigKeys(v *viper.Viper, known []string) error {
	return configkey.Check(v.ConfigFileUsed(), v.AllKeys(), known, structuredKeys())
}

package cmd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// configKeyAnnotation marks a flag that the configuration can set, with the
// key that sets it.
const configKeyAnnotation = "montool_config_key"

// bindConfig lets the configuration set the flags names of fs, or, when no
// name is given, every flag of fs that the configuration may set (see
// takesConfig). The key of a flag is its name in snake case after section
// and a dot: "serve.max_clients" sets serve's --max-clients; with section ""
// the key is the name alone ("log_level" for --log-level).
func bindConfig(fs *pflag.FlagSet, section string, names ...string) {
	if len(names) == 0 {
		fs.VisitAll(func(f *pflag.Flag) {
			if takesConfig(f.Name) {
				names = append(names, f.Name)
			}
		})
	}
	for _, name := range names {
		configKey(fs, name, configKeyOf(section, name))
	}
}

// configKeyOf returns the config key of the flag name in section.
func configKeyOf(section, name string) string {
	key := strings.ReplaceAll(name, "-", "_")
	if section == "" {
		return key
	}
	return section + "." + key
}

// takesConfig reports whether the configuration may set the flag name:
// every flag but --config, which says where the configuration is.
func takesConfig(name string) bool { return name != "config" }

// configKey lets the configuration key set the flag name when the user did
// not set the flag.
func configKey(fs *pflag.FlagSet, name, key string) {
	if err := fs.SetAnnotation(name, configKeyAnnotation, []string{key}); err != nil {
		panic(err) // a flag name misspelt in this package
	}
}

// structuredKeys are the top-level config keys that hold lists, read whole
// (see keySpecs and tokenSet) rather than bound to flags.
var structuredKeys = []string{"keys", "tokens"}

// configKeys returns every key the configuration may hold: those bound to
// a flag of any command under root with bindConfig or configKey, and structuredKeys.
func configKeys(root *cobra.Command) []string {
	keys := slices.Clone(structuredKeys)
	add := func(f *pflag.Flag) {
		if k := f.Annotations[configKeyAnnotation]; len(k) > 0 && !slices.Contains(keys, k[0]) {
			keys = append(keys, k[0])
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.PersistentFlags().VisitAll(add)
		c.LocalNonPersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	slices.Sort(keys)
	return keys
}

// checkConfigKeys refuses the keys of the config file v read that no
// setting reads, each with the known key it is most likely a typo of, so
// that a misspelt setting is not silently left at its default.
func checkConfigKeys(v *viper.Viper, known []string) error {
	var bad []string
	for _, key := range v.AllKeys() {
		if slices.Contains(known, key) || slices.ContainsFunc(structuredKeys, func(s string) bool { return strings.HasPrefix(key, s+".") }) {
			continue
		}
		if sub := sectionKey(key, known); sub != "" {
			bad = append(bad, fmt.Sprintf("%s is a section of keys such as %s, not a value", key, sub))
			continue
		}
		msg := "unknown key " + key
		if like := likeKey(key, known); like != "" {
			msg += " (did you mean " + like + "?)"
		}
		bad = append(bad, msg)
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("config %s: %s", v.ConfigFileUsed(), strings.Join(bad, "; "))
}

// sectionKey returns the shortest known key in section, or "" when
// section is not one.
func sectionKey(section string, known []string) string {
	sub := ""
	for _, k := range known {
		if strings.HasPrefix(k, section+".") && (sub == "" || len(k) < len(sub)) {
			sub = k
		}
	}
	return sub
}

// likeKey returns the known keys that key is most likely a typo of: the
// nearest within a few edits, else those of the same last part in another
// section, written "a or b"; or "" for none.
func likeKey(key string, known []string) string {
	var like []string
	bestDist := max(2, len(key)/4) + 1
	for _, k := range known {
		switch d := editDistance(key, k); {
		case d < bestDist:
			like, bestDist = []string{k}, d
		case d == bestDist && like != nil:
			like = append(like, k)
		}
	}
	if like == nil {
		leaf := key[strings.LastIndex(key, ".")+1:]
		for _, k := range known {
			if k[strings.LastIndex(k, ".")+1:] == leaf {
				like = append(like, k)
			}
		}
	}
	return strings.Join(like, " or ")
}

// editDistance returns the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Package configkey names the config keys that set montool's flags, all
// by one rule, and checks the keys of a config file against them, with the
// key a misspelt one most likely means.
package configkey

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Annotation is the annotation of a flag that the configuration can set:
// the key that sets it.
const Annotation = "montool_config_key"

// Bind lets the configuration set the flags names of fs that the user did
// not set, or, when no name is given, every flag of fs that the
// configuration may set (see takesConfig). The key of a flag is its name in snake case after section
// and a dot: "serve.max_clients" sets serve's --max-clients; with section ""
// the key is the name alone ("log_level" for --log-level).
func Bind(fs *pflag.FlagSet, section string, names ...string) {
	if len(names) == 0 {
		fs.VisitAll(func(f *pflag.Flag) {
			if takesConfig(f.Name) {
				names = append(names, f.Name)
			}
		})
	}
	for _, name := range names {
		Set(fs, name, Name(section, name))
	}
}

// Name returns the config key of the flag name in section, as Bind
// names it.
func Name(section, name string) string {
	key := strings.ReplaceAll(name, "-", "_")
	if section == "" {
		return key
	}
	return section + "." + key
}

// takesConfig reports whether the configuration may set the flag name:
// every flag but --config, which says where the configuration is.
func takesConfig(name string) bool { return name != "config" }

// Set lets the configuration key set the flag name of fs when the user did
// not set the flag. Bind calls it with the key of each flag it binds.
func Set(fs *pflag.FlagSet, name, key string) {
	if err := fs.SetAnnotation(name, Annotation, []string{key}); err != nil {
		panic(err) // a flag name misspelt by the caller
	}
}

// Of returns the config key that sets f, or "" when none does.
func Of(f *pflag.Flag) string {
	if k := f.Annotations[Annotation]; len(k) > 0 {
		return k[0]
	}
	return ""
}

// All returns every key the configuration may hold: those bound to a flag
// of any command under root, and structured, sorted.
func All(root *cobra.Command, structured ...string) []string {
	keys := slices.Clone(structured)
	add := func(f *pflag.Flag) {
		if k := Of(f); k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
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

// Check refuses the keys of the config file file that are not known, each
// with the known key it is most likely a typo of, so that a misspelt
// setting is not silently left at its default. The keys under a structured
// key, which holds a list read whole, pass.
func Check(file string, keys, known, structured []string) error {
	var bad []string
	for _, key := range keys {
		if slices.Contains(known, key) || slices.ContainsFunc(structured, func(s string) bool { return strings.HasPrefix(key, s+".") }) {
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
	return fmt.Errorf("config %s: %s", file, strings.Join(bad, "; "))
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

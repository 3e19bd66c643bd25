package cmd

import (
	"fmt"

	"github.com/spf13/viper"

	"github.com/montool/montool/internal/agent"
	"github.com/montool/montool/internal/event"
)

// keyConfig is one entry of the config file's `keys` list.
type keyConfig struct {
	Name    string  `mapstructure:"name"`
	Type    string  `mapstructure:"type"`
	Min     float64 `mapstructure:"min"`
	Max     float64 `mapstructure:"max"`
	Integer bool    `mapstructure:"integer"`
}

// keySpecs returns the key set of the configuration: the `keys` list when
// there is one, else the default key set.
func keySpecs(v *viper.Viper) ([]agent.KeySpec, error) {
	if v == nil || !v.IsSet("keys") {
		return agent.DefaultKeys(), nil
	}
	var list []keyConfig
	if err := v.UnmarshalKey("keys", &list); err != nil {
		return nil, fmt.Errorf("config keys: %w", err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("config keys: the list is empty; remove it to use the default key set")
	}
	specs := make([]agent.KeySpec, len(list))
	for i, k := range list {
		typ, err := event.ParseType(k.Type)
		if err != nil {
			return nil, fmt.Errorf("config keys[%d] (%q): type %w", i, k.Name, err)
		}
		specs[i] = agent.KeySpec{Name: k.Name, Type: typ, Min: k.Min, Max: k.Max, Integer: k.Integer}
		if err := specs[i].Validate(); err != nil {
			return nil, fmt.Errorf("config keys[%d]: %w", i, err)
		}
	}
	return specs, nil
}

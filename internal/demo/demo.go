// Package demo is the embedded demo: placeholder until the demo tree lands.
package demo

import (
	"errors"

	"depot/internal/config"
)

// Config returns the demo configuration.
func Config(dataDir string) (*config.Config, error) {
	return nil, errors.New("the embedded demo is not built yet; pass --config")
}

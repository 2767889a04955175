// Package examples holds depot's example configuration, depot.toml,
// embedded so that depot init writes the very file operators read here and
// the Debian package installs as /etc/depot/depot.toml.
//
// It holds text only: it never reads or writes a file.
package examples

import _ "embed"

// DepotTOML is examples/depot.toml.
//
//go:embed depot.toml
var DepotTOML string

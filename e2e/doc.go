// Package e2e runs the depot binary as its users do, against the real
// clients it promises to serve: dnf, apt and tor. It owns the tests only and
// no production code; nothing outside e2e may import it.
//
// Tests build depot once, start it with a configuration in a temporary
// directory on free ports, and talk to it over the network only. A missing
// client tool skips its test, except when CI=true, where it fails.
package e2e

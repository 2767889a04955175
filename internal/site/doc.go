// Package site builds a project's documentation into a static website and
// audits static websites for anything that would load from another origin,
// run a script or break the site's Content-Security-Policy.
//
// It never fetches a URL, never runs a script and never follows a symlink
// out of the directory it was given; building writes only into a temporary
// directory beside the destination, which it swaps in whole.
package site

// Package buildinfo reports what the Go toolchain recorded in this binary:
// the module version, the commit it was built from and the Go version.
//
// It only reads runtime/debug's build information; it never runs git or
// reads a file, so what it prints is what was built, not what is checked
// out beside it.
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Info is a binary's build information.
type Info struct {
	Version  string // module version, "(devel)" for a build without VCS information
	Commit   string // vcs.revision; "" when unknown
	Time     string // vcs.time, RFC 3339; "" when unknown
	Modified bool   // vcs.modified: the tree had uncommitted changes
	Go       string // e.g. "go1.26.8"
	Platform string // GOOS/GOARCH
}

// Read returns this binary's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "(unknown)"}
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo extracts Info from bi.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Version: bi.Main.Version, Go: bi.GoVersion}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	var goos, goarch string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Commit = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		case "GOOS":
			goos = s.Value
		case "GOARCH":
			goarch = s.Value
		}
	}
	if goos != "" && goarch != "" {
		in.Platform = goos + "/" + goarch
	}
	return in
}

// String is the text of `depot version`, one fact per line.
func (in Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "depot %s\n", in.Version)
	switch {
	case in.Commit == "":
		b.WriteString("commit unknown (built without VCS information: -buildvcs=false, or outside a git clone)\n")
	case in.Modified:
		fmt.Fprintf(&b, "commit %s (modified: built with uncommitted changes)\n", in.Commit)
	default:
		fmt.Fprintf(&b, "commit %s\n", in.Commit)
	}
	if in.Time != "" {
		fmt.Fprintf(&b, "commit time %s\n", in.Time)
	}
	fmt.Fprintf(&b, "go %s", in.Go)
	if in.Platform != "" {
		fmt.Fprintf(&b, " %s", in.Platform)
	}
	b.WriteString("\n")
	return b.String()
}

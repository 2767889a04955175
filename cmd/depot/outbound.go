package main

import (
	"context"
	"fmt"
	"io"

	"depot/internal/outbound"
)

// outboundRecord is the record of where a command connects, kept in
// <dataDir>/outbound.json for depot audit.
type outboundRecord struct {
	*outbound.Record
	path   string
	stderr io.Writer
}

func newOutboundRecord(dataDir string, stderr io.Writer) *outboundRecord {
	return &outboundRecord{Record: outbound.NewRecord(outbound.RecordOptions{}), path: outbound.Path(dataDir), stderr: stderr}
}

func (r *outboundRecord) report(err error) {
	fmt.Fprintf(r.stderr, "depot: %v\n", err)
}

// keep writes the record while ctx lasts (serve, proxy).
func (r *outboundRecord) keep(ctx context.Context) {
	r.Keep(ctx, r.path, 0, r.report)
}

// flush merges what was recorded into the file; one-shot commands call it
// when done, serve after everything stopped.
func (r *outboundRecord) flush() {
	if err := r.Flush(r.path); err != nil {
		r.report(err)
	}
}

package logfiles

// LineTime returns the Unix time of an access-log or error-log line, as
// prune and search read it; ok is false when the line holds none.
func LineTime(line []byte) (unix int64, ok bool) { return lineTime(line) }

// LineAddr returns the client address text of an access-log or error-log
// line, as search reads it, or nil.
func LineAddr(line []byte) []byte { return lineAddr(line) }

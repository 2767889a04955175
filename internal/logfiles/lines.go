package logfiles

import "depot/internal/logread"

// firstTime returns the time of the first dated line among the first
// 64 KiB of a log file.
func firstTime(path string) (int64, bool) {
	r, err := logread.Open(path)
	if err != nil {
		return 0, false
	}
	defer r.Close()
	for read := 0; read < 64<<10; {
		line, err := r.Next()
		if err != nil {
			return 0, false
		}
		read += len(line) + 1
		if t, ok := lineTime(line); ok {
			return t, true
		}
	}
	return 0, false
}

package metrics

import (
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LogFile is what the log collector reads of a log file
// (*logsink.File).
type LogFile interface {
	Path() string
	// Written counts the lines accepted for writing, LostLines those that
	// could not be written.
	Written() int64
	LostLines() int64
	// LastWriteErrorAt is when a write last failed; the zero time if
	// none did.
	LastWriteErrorAt() time.Time
}

var (
	logWrittenDesc = prometheus.NewDesc("depot_log_lines_written_total",
		"Lines written to the log file (access.log, error.log, proxy.log).", []string{"log"}, nil)
	logLostDesc = prometheus.NewDesc("depot_log_lines_lost_total",
		"Lines that could not be written to the log file (a full disk, an I/O error).", []string{"log"}, nil)
	logErrorDesc = prometheus.NewDesc("depot_log_last_write_error_timestamp_seconds",
		"When a write to the log file last failed, as a Unix time; 0 if it never did.", []string{"log"}, nil)
)

// LogCollector reports the log files that files returns at each scrape
// (they change when depot is reloaded).
func LogCollector(files func() []LogFile) prometheus.Collector {
	return logCollector(files)
}

type logCollector func() []LogFile

func (c logCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- logWrittenDesc
	ch <- logLostDesc
	ch <- logErrorDesc
}

func (c logCollector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range c() {
		name := filepath.Base(f.Path())
		ch <- prometheus.MustNewConstMetric(logWrittenDesc, prometheus.CounterValue, float64(f.Written()), name)
		ch <- prometheus.MustNewConstMetric(logLostDesc, prometheus.CounterValue, float64(f.LostLines()), name)
		var ts float64
		if at := f.LastWriteErrorAt(); !at.IsZero() {
			ts = float64(at.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(logErrorDesc, prometheus.GaugeValue, ts, name)
	}
}

// MirrorStates are the values of depot_mirror_state's state label.
var MirrorStates = []string{"fresh", "behind", "stale", "down", "unchecked"}

// Mirror is one mirror as the last checks found it.
type Mirror struct {
	Name  string
	State string // one of MirrorStates
	// Files counts the mirror's files by state at the last check
	// (fresh, behind, stale, down, unchecked).
	Files   map[string]int
	Latency time.Duration // median time to response headers; 0 if never checked
	Checked bool          // a check round has covered it
}

// Round is the last complete check round of every mirror.
type Round struct{ Started, Ended time.Time }

var (
	mirrorStateDesc = prometheus.NewDesc("depot_mirror_state",
		"1 for the mirror's state: fresh (trusted, every file current), behind (holds a recent version), stale, down (a check failed; not used until a whole check succeeds) or unchecked.",
		[]string{"mirror", "state"}, nil)
	mirrorFilesDesc = prometheus.NewDesc("depot_mirror_files",
		"Files checked on the mirror, by state at the last check.", []string{"mirror", "state"}, nil)
	mirrorLatencyDesc = prometheus.NewDesc("depot_mirror_latency_seconds",
		"Median time to the response headers over the mirror's files at the last check.", []string{"mirror"}, nil)
	checkDurationDesc = prometheus.NewDesc("depot_mirror_check_duration_seconds",
		"How long the last complete check round of every mirror took.", nil, nil)
	checkTimeDesc = prometheus.NewDesc("depot_mirror_check_last_timestamp_seconds",
		"When the last complete check round ended, as a Unix time.", nil, nil)
)

// MirrorCollector reports, at each scrape, the mirrors that mirrors
// returns and the round that round returns, from what the checks last
// found. It contacts no mirror.
func MirrorCollector(mirrors func() []Mirror, round func() Round) prometheus.Collector {
	return mirrorCollector{mirrors, round}
}

type mirrorCollector struct {
	mirrors func() []Mirror
	round   func() Round
}

func (c mirrorCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{mirrorStateDesc, mirrorFilesDesc, mirrorLatencyDesc, checkDurationDesc, checkTimeDesc} {
		ch <- d
	}
}

func (c mirrorCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.mirrors() {
		for _, s := range MirrorStates {
			v := 0.0
			if s == m.State {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(mirrorStateDesc, prometheus.GaugeValue, v, m.Name, s)
			ch <- prometheus.MustNewConstMetric(mirrorFilesDesc, prometheus.GaugeValue, float64(m.Files[s]), m.Name, s)
		}
		if m.Checked {
			ch <- prometheus.MustNewConstMetric(mirrorLatencyDesc, prometheus.GaugeValue, m.Latency.Seconds(), m.Name)
		}
	}
	if rd := c.round(); !rd.Ended.IsZero() {
		ch <- prometheus.MustNewConstMetric(checkDurationDesc, prometheus.GaugeValue, rd.Ended.Sub(rd.Started).Seconds())
		ch <- prometheus.MustNewConstMetric(checkTimeDesc, prometheus.GaugeValue, float64(rd.Ended.UnixNano())/1e9)
	}
}

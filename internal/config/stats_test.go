package config

import "testing"

func TestStatsTable(t *testing.T) {
	tests := []struct {
		name  string
		stats string
		want  []string // substrings of the error; none means valid
	}{
		{"default rule", "[stats]\nlogs = [\"/var/log/depot/access*.log*\"]\n", nil},
		{"apt rule", "[stats]\n[[stats.rule]]\npath = '^/(?:[^/]+/)*dists/(?P<release>[^/]+)/InRelease$'\nexclude_release = ['-backports$']\n", nil},
		{"bad glob", "[stats]\nlogs = [\"/var/log/[\"]\n", []string{"stats.logs[0]", "not a valid glob"}},
		{"rule without release capture", "[stats]\n[[stats.rule]]\npath = '^/dists/([^/]+)/InRelease$'\n", []string{"stats.rule[0].path", "(?P<release>"}},
		{"rule with bad regexp", "[stats]\n[[stats.rule]]\npath = '(?P<release>'\nexclude = ['(']\n", []string{"stats.rule[0].path", "stats.rule[0].exclude[0]"}},
		{"missing exit-list directory", "[stats]\nexit_lists = \"/nonexistent/exit-lists\"\n", []string{"stats.exit_lists", "fetch = true"}},
		{"missing directory is fine with fetch", "[stats]\nexit_lists = \"/nonexistent/exit-lists\"\nfetch = true\n", nil},
		{"fetch without directory", "[stats]\nfetch = true\n", []string{"stats.fetch", "needs exit_lists"}},
		{"unknown key", "[stats]\nlog = []\n", []string{`unknown key "stats.log"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkLoad(t, minimal+tc.stats, tc.want)
		})
	}
}

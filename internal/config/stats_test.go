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
		{"nodes", "[stats]\nlogs = [\"/srv/logs/*/access*.log*\"]\n[stats.nodes]\neu1 = \"/srv/logs/eu1\"\n\"us-1.b\" = \"/srv/logs/us1/access*.log*\"\n", nil},
		{"nodes inline", "[stats]\nlogs = [\"/srv/logs/*/access*\"]\nnodes = { eu1 = \"/srv/logs/eu1\", us1 = \"/srv/logs/us1\" }\n", nil},
		{"node name", "[stats]\nlogs = [\"/srv/*\"]\n[stats.nodes]\n\"-x\" = \"/srv/x\"\n\"a b\" = \"/srv/y\"\n", []string{"stats.nodes.-x: \"-x\" is not a node name", "stats.nodes.a b: \"a b\" is not a node name"}},
		{"node glob", "[stats]\nlogs = [\"/srv/*\"]\n[stats.nodes]\neu1 = \"/srv/logs/[\"\n", []string{"stats.nodes.eu1: \"/srv/logs/[\" is not a directory or glob"}},
		{"node empty", "[stats]\nlogs = [\"/srv/*\"]\n[stats.nodes]\neu1 = \"\"\n", []string{"stats.nodes.eu1:", "is not a directory or glob"}},
		{"nodes share a directory", "[stats]\nlogs = [\"/srv/*\"]\n[stats.nodes]\na = \"/srv/logs/eu1\"\nb = \"/srv/logs/eu1/\"\n", []string{"stats.nodes.b: \"/srv/logs/eu1\" is also node a's"}},
		{"nodes not a table", "[stats]\nlogs = [\"/srv/*\"]\nnodes = [\"/srv/a\"]\n", []string{"stats.nodes: must be a table of strings"}},
		{"nodes without logs", "[stats]\n[stats.nodes]\na = \"/srv/logs/a\"\n", []string{"stats.nodes: is set, but stats.logs is not"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkLoad(t, minimal+tc.stats, tc.want)
		})
	}
}

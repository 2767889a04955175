package server

import (
	"net/http"
	"strconv"
	"testing"

	"depot/internal/config"
	"depot/internal/responder"
)

// whoami answers /whoami with what IsOnion says about the request.
type whoami struct{}

func (whoami) Respond(w http.ResponseWriter, r *http.Request) (bool, error) {
	if r.URL.Path != "/whoami" {
		return false, nil
	}
	_, _ = w.Write([]byte(strconv.FormatBool(responder.IsOnion(r))))
	return true, nil
}

// TestIsOnionComesFromTheListener: whether a request is onion is decided
// by the listener it arrived on, never by its Host header, which any
// client sets as it likes.
func TestIsOnionComesFromTheListener(t *testing.T) {
	ts := startServer(t, "", Options{Responders: func(config.Site) []responder.Responder { return []responder.Responder{whoami{}} }})
	tests := []struct {
		name, addr, host, want string
	}{
		{"onion listener, onion Host", ts.onion, "abc.onion", "true"},
		{"onion listener, clearnet Host", ts.onion, "yum.example.org", "true"},
		{"clearnet listener, onion Host", ts.clearnet, "abc.onion", "false"},
		{"clearnet listener, clearnet Host", ts.clearnet, "yum.example.org", "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := body(t, get(t, tt.addr, "/whoami", "Host", tt.host)); got != tt.want {
				t.Errorf("IsOnion = %s, want %s", got, tt.want)
			}
		})
	}
}

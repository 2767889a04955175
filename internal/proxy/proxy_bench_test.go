package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkForward is one GET through the proxy to a loopback origin,
// keep-alive on both sides: the forwarding path with the network.
func BenchmarkForward(b *testing.B) {
	o := newOrigin(b, func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 4096)) })
	addr := startProxy(b, testConfig(o.Addr), Options{})
	client := proxyClient(addr)
	client.Transport.(*http.Transport).DisableKeepAlives = false
	url := "http://" + o.Addr + "/repodata/repomd.xml"
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkDeny is the refusal of an unlisted destination, without the
// network: parsing the target, the allowlist and the 403.
func BenchmarkDeny(b *testing.B) {
	s, err := New(testConfig("yum.qubes-os.org", "*.debian.org", "*.fedoraproject.org"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "http://evil.example.org/x", nil)
	req.RequestURI = "http://evil.example.org/x"
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s.handle(w, req)
		if w.Code != http.StatusForbidden {
			b.Fatalf("got %d, want 403", w.Code)
		}
	}
}

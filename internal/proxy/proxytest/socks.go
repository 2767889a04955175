// Package proxytest holds fakes for testing the updates proxy: a SOCKS5
// server that records what it was asked to connect to. It never resolves
// a name: every connection goes to the one backend it was given.
package proxytest

import (
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

// SOCKS5 address types (RFC 1928 §5).
const (
	ATypIPv4   = 1
	ATypDomain = 3
	ATypIPv6   = 4
)

// Request is one CONNECT a SOCKS5 client asked for.
type Request struct {
	AddrType byte
	Host     string // the name for ATypDomain, else the address
	Port     int
}

// SOCKS5 is a fake SOCKS5 server, as tor's SocksPort looks to a client.
type SOCKS5 struct {
	Addr    string // host:port it listens on
	backend string

	mu       sync.Mutex
	requests []Request
}

// NewSOCKS5 starts a SOCKS5 server (no authentication) on loopback that
// records each CONNECT and joins it to backend, whatever was asked.
func NewSOCKS5(t testing.TB, backend string) *SOCKS5 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SOCKS5{Addr: ln.Addr().String(), backend: backend}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(c) })
		}
	})
	return s
}

// Requests returns the CONNECTs received so far.
func (s *SOCKS5) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *SOCKS5) serve(c net.Conn) {
	defer c.Close()
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] != 5 {
		return
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return
	}
	c.Write([]byte{5, 0}) // no authentication
	var req [4]byte
	if _, err := io.ReadFull(c, req[:]); err != nil || req[1] != 1 {
		return
	}
	r := Request{AddrType: req[3]}
	switch req[3] {
	case ATypIPv4, ATypIPv6:
		n := 4
		if req[3] == ATypIPv6 {
			n = 16
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(c, b); err != nil {
			return
		}
		r.Host = net.IP(b).String()
	case ATypDomain:
		var l [1]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		b := make([]byte, l[0])
		if _, err := io.ReadFull(c, b); err != nil {
			return
		}
		r.Host = string(b)
	default:
		return
	}
	var port [2]byte
	if _, err := io.ReadFull(c, port[:]); err != nil {
		return
	}
	r.Port = int(binary.BigEndian.Uint16(port[:]))
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.mu.Unlock()
	up, err := net.Dial("tcp", s.backend)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
		return
	}
	defer up.Close()
	c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0})
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// String formats r as host:port with its address type.
func (r Request) String() string {
	return "atyp " + strconv.Itoa(int(r.AddrType)) + " " + net.JoinHostPort(r.Host, strconv.Itoa(r.Port))
}

// Go crypto/tls echo server, the Go peer of bench/sections/tls.sh: one
// goroutine per connection, plain Read/Write loop (adapted from
// ../shared/bench/peers/go/echo_server.go). Run with GOMAXPROCS=1.
// TLS 1.3 only (Go's TLS 1.3 suites are not configurable; the client asks
// for TLS_AES_128_GCM_SHA256 and P-256).
// Usage: tls_echo PORT CERT KEY. Binds 127.0.0.1 only.
package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: tls_echo port cert key")
		os.Exit(2)
	}
	cert, err := tls.LoadX509KeyPair(os.Args[2], os.Args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert},
		MinVersion: tls.VersionTLS13}
	ln, err := tls.Listen("tcp", "127.0.0.1:"+os.Args[1], cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening")
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			buf := make([]byte, 16*1024)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}(c)
	}
}

// http_client_go.go - the Go net/http peer of bench/http_client.c: one
// http.Client whose Transport keeps up to 50 idle connections to the host,
// and 50 goroutines looping GET http://127.0.0.1:PORT/ reading the whole
// body. GOMAXPROCS is 1 (the bench pins every client to one CPU). After a
// warm-up it prints the process's CPU time (user + system) per request:
//     http_client_cpu_ns_per_req <ns>
// Usage: http_client_go -port P [-conns 50] [-requests N] [-warmup N]
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

func cpuNs() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return (ru.Utime.Sec+ru.Stime.Sec)*1e9 + (ru.Utime.Usec+ru.Stime.Usec)*1e3
}

func main() {
	port := flag.Int("port", 0, "server port")
	conns := flag.Int("conns", 50, "connections")
	requests := flag.Int64("requests", 100000, "measured requests")
	warmup := flag.Int64("warmup", 10000, "warm-up requests")
	flag.Parse()
	runtime.GOMAXPROCS(1)
	tr := &http.Transport{MaxIdleConns: *conns, MaxIdleConnsPerHost: *conns,
		MaxConnsPerHost: *conns, DisableCompression: false}
	client := &http.Client{Transport: tr}
	url := fmt.Sprintf("http://127.0.0.1:%d/", *port)
	batch := func(count int64) {
		left := count
		var wg sync.WaitGroup
		for i := 0; i < *conns; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for atomic.AddInt64(&left, -1) >= 0 {
					resp, err := client.Get(url)
					if err != nil {
						fmt.Fprintln(os.Stderr, err)
						os.Exit(1)
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || string(body) != "Hello, World!" {
						fmt.Fprintln(os.Stderr, "bad body")
						os.Exit(1)
					}
				}
			}()
		}
		wg.Wait()
	}
	batch(*warmup)
	c0 := cpuNs()
	batch(*requests)
	c1 := cpuNs()
	fmt.Printf("http_client_cpu_ns_per_req %.1f\n", float64(c1-c0)/float64(*requests))
}

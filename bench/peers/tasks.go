// tasks.go - task_spawn_ns peer for bench/run: spawn a goroutine running a
// trivial function, run it to completion, let it go. Shape (same as
// bench/tasks.c and tasks.py): in batches of -batch, start that many
// goroutines, each calling wg.Done, then wg.Wait for the batch. One
// discarded warm-up pass (n/10) precedes the measured round.
// Runs on one P (GOMAXPROCS=1) so it is single-threaded like the others.
// Prints "task_spawn_ns <ns per goroutine>".
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

func spawn(n, batch int) {
	var wg sync.WaitGroup
	for b := 0; b < n/batch; b++ {
		wg.Add(batch)
		for i := 0; i < batch; i++ {
			go func() { wg.Done() }()
		}
		wg.Wait()
	}
}

func main() {
	n := flag.Int("n", 1000000, "goroutines in the measured round")
	batch := flag.Int("batch", 1000, "goroutines per batch")
	flag.Parse()
	if *n <= 0 || *batch <= 0 || *n%*batch != 0 {
		fmt.Fprintln(os.Stderr, "tasks: -n must be a positive multiple of -batch")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(1)
	warm := *n / 10
	if warm < *batch {
		warm = *batch
	}
	spawn(warm-warm%*batch, *batch)
	t0 := time.Now()
	spawn(*n, *batch)
	el := time.Since(t0)
	fmt.Printf("task_spawn_ns %.1f\n", float64(el.Nanoseconds())/float64(*n))
}

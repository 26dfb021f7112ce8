package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestScrapeCache(t *testing.T) {
	reads, fail := 0, true
	c := &scrapeCache[int]{ttl: time.Hour, read: func(context.Context) (int, error) {
		reads++
		if fail {
			return 0, errors.New("database is locked")
		}
		return reads, nil
	}}
	if _, ok := c.get(); ok {
		t.Fatal("a failed read reported ok")
	}
	fail = false
	if v, ok := c.get(); !ok || v != 2 {
		t.Fatalf("after a failed read: %v, %v; want the next read (2), not a cached failure", v, ok)
	}
	if v, ok := c.get(); !ok || v != 2 || reads != 2 {
		t.Fatalf("within the ttl: %v, %v after %d reads; want the cached 2 and no read", v, ok, reads)
	}
	c.ttl = 0
	if v, _ := c.get(); v != 3 {
		t.Fatalf("past the ttl: %v, want a new read (3)", v)
	}
}

package main

import (
	"context"
	"sync"
	"time"
)

// scrapeTTL is how long a count read from the store for /metrics is
// reused: several scrapers (or one scraping often) cost one query each
// few seconds, and a gauge a few seconds old is as good as a new one.
const scrapeTTL = 2 * time.Second

// scrapeCache reads a value from the store for /metrics at most once per
// ttl. Concurrent scrapes wait for one read. A failed read is not cached:
// the next scrape tries again.
type scrapeCache[T any] struct {
	ttl  time.Duration
	read func(context.Context) (T, error)

	mu sync.Mutex
	at time.Time
	v  T
}

// get returns the cached value, reading it again when older than ttl;
// ok is false when the read failed.
func (c *scrapeCache[T]) get() (v T, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < c.ttl {
		return c.v, true
	}
	// Under a scraper's usual 10 s timeout, with room for the rest.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, err := c.read(ctx)
	if err != nil {
		return v, false
	}
	c.v, c.at = v, time.Now()
	return v, true
}

package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

func TestPct(t *testing.T) {
	for _, tc := range []struct {
		a    float64
		want string
	}{{1, "100%"}, {0.99999, "99.99%"}, {0.9995, "99.95%"}, {0.5, "50.00%"}, {0, "0.00%"}} {
		if got := pct(tc.a); got != tc.want {
			t.Errorf("pct(%v) = %s, want %s (never rounded up to 100%%)", tc.a, got, tc.want)
		}
	}
	if got := pctOf(uptime.Tally{UnknownTime: time.Hour}); got != "–" {
		t.Errorf("no known time shows %q, want –", got)
	}
}

func day(start time.Time, a float64) uptime.Brief {
	up := time.Duration(a * float64(24*time.Hour))
	return uptime.Brief{Start: start, Checks: 10, Up: up, Down: 24*time.Hour - up}
}

func TestDayStrip(t *testing.T) {
	first := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	days := []uptime.Brief{
		day(first, 1), day(first.Add(24*time.Hour), 1),
		day(first.Add(2*24*time.Hour), 0.98),
		// the fourth day has no data
		day(first.Add(4*24*time.Hour), 1),
	}
	s := dayStrip(days, first, 5, true)
	var classes []string
	for _, c := range s.Cells {
		classes = append(classes, c.Class)
	}
	if strings.Join(classes, " ") != "l1 l4 l0 l1" || s.Cells[0].W != 2*stripCellWidth-1 || s.Cells[3].X != 4*stripCellWidth {
		t.Errorf("runs %v, first width %d, last at %d", classes, s.Cells[0].W, s.Cells[3].X)
	}
	if !strings.Contains(s.Cells[0].Title, "(2 days): 100% up, 20 checks") || s.Cells[1].Title != "3 Mar 2026: 98.00% up, 10 checks, down 28m 48s" ||
		s.Cells[2].Title != "4 Mar 2026: no data" {
		t.Errorf("titles %q, %q, %q", s.Cells[0].Title, s.Cells[1].Title, s.Cells[2].Title)
	}
	if s.Label != "Uptime of the last 5 days: 3 at 100%, 1 at 95% or more, 1 at no data" {
		t.Errorf("label %q", s.Label)
	}
	if n := len(dayStrip(days, first, 5, false).Cells); n != 5 {
		t.Errorf("without runs, %d cells, want one a day", n)
	}
}

func TestLatencyChart(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var rs []uptime.Rollup
	for i, ms := range []int{10, 20, 0, 40, 0, 0, 30} {
		if ms == 0 {
			continue // a gap
		}
		var tl uptime.Tally
		tl.Up, tl.UpTime = 1, time.Minute
		d := time.Duration(ms) * time.Millisecond
		tl.Latency.Add(d)
		tl.LatencyMin, tl.LatencyMax, tl.LatencySum = d, d, d
		rs = append(rs, uptime.Rollup{Start: from.Add(time.Duration(i) * time.Minute), Tally: tl})
	}
	c := newLatencyChart(rs, from, from.Add(7*time.Minute), time.Minute)
	if got := strings.Count(string(c.P95), "<polyline"); got != 1 {
		t.Errorf("%d lines, want one (10, 20) and dots for 40 and 30 alone between gaps", got)
	}
	if got := strings.Count(string(c.P95), "<circle"); got != 2 {
		t.Errorf("%d dots, want 2", got)
	}
	if c.Grid[len(c.Grid)-1].Label != "50 ms" || len(c.Grid) != 6 {
		t.Errorf("grid %v, want 0 to 50 ms in 5 steps", c.Grid)
	}
	if !strings.Contains(c.Label, "p95 between 10 ms and 40 ms") {
		t.Errorf("text alternative %q", c.Label)
	}
	if e := newLatencyChart(nil, from, from.Add(time.Hour), time.Minute); !e.Empty {
		t.Error("no data is not an empty chart")
	}
}

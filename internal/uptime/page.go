package uptime

// PageQuery is what a page of targets shows of their history, read at
// once for all of them: the whole Tally over each of Tallies, latencies
// included; the Brief over each of Briefs, far cheaper to read; and the
// Brief of each whole UTC day from the day of Days.From to the day before
// Days.To's (none when zero). Each interval is [From, To).
type PageQuery struct {
	IDs     []int64
	Tallies []Interval
	Briefs  []Interval
	Days    Interval
}

// Page is what a PageQuery read, by target id: Tallies[i] is
// PageQuery.Tallies[i]'s, Briefs[i] PageQuery.Briefs[i]'s, and Days each
// target's days in order (a day without data has none).
type Page struct {
	Tallies []map[int64]Tally
	Briefs  []map[int64]Brief
	Days    map[int64][]Brief
}

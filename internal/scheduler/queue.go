package scheduler

// queue is the timer queue: a min-heap of next run times, driven through
// container/heap. The key is kept in the slice next to the entry so that
// comparisons touch no entry (at 100k targets the pointer chasing was most
// of a fire's cost); each entry knows its index so that Upsert and Remove can
// fix or take it out in O(log n).
type queue []slot

type slot struct {
	due int64 // Unix ns, a copy of e.due
	e   *entry
}

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].due < q[j].due }

func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].e.index = i
	q[j].e.index = j
}

func (q *queue) Push(x any) {
	e := x.(*entry)
	e.index = len(*q)
	*q = append(*q, slot{e.due, e})
}

func (q *queue) Pop() any {
	old := *q
	n := len(old) - 1
	e := old[n].e
	old[n] = slot{}
	e.index = -1
	*q = old[:n]
	return e
}

// countDue counts the entries due at or before now. It visits only those
// entries and their direct children, thanks to the heap order.
func (q queue) countDue(now int64) int {
	n := 0
	var walk func(i int)
	walk = func(i int) {
		if i >= len(q) || q[i].due > now {
			return
		}
		n++
		walk(2*i + 1)
		walk(2*i + 2)
	}
	walk(0)
	return n
}

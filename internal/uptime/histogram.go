package uptime

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// Histogram counts latencies in fixed log-spaced buckets, so that the
// percentiles of any window are the merge of its rollups' histograms.
//
// Bucket 0 holds latencies under 1 µs; bucket i ≥ 1 holds [γ^(i-1), γ^i)
// µs with γ = 1.09, up to bucket 255, which also takes everything above
// about 58 minutes. A quantile is reported as the geometric middle of its
// bucket, so it is within √γ − 1 ≈ 4.4 % of the true value (clamped to
// the smallest and largest latency seen, which the rollup keeps exactly).
// Every histogram has the same buckets, so merging is adding counts.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
}

const (
	histBuckets = 256
	histGamma   = 1.09
)

var logGamma = math.Log(histGamma)

// HistogramError is the largest relative error of Quantile for latencies
// between 1 µs and about 58 minutes.
var HistogramError = math.Sqrt(histGamma) - 1

// histIndex is the bucket of a latency of us microseconds.
func histIndex(us float64) int {
	if us < 1 {
		return 0
	}
	i := int(math.Log(us)/logGamma) + 1
	// Floating point may put an exact power of γ one bucket low or high:
	// settle it against the bucket's bounds.
	for i > 1 && us < histLower(i) {
		i--
	}
	for i < histBuckets-1 && us >= histLower(i+1) {
		i++
	}
	return min(i, histBuckets-1)
}

// histLower is the lower bound of bucket i ≥ 1, in microseconds.
func histLower(i int) float64 { return math.Pow(histGamma, float64(i-1)) }

// Add counts one latency.
func (h *Histogram) Add(d time.Duration) {
	h.counts[histIndex(float64(d)/float64(time.Microsecond))]++
	h.n++
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// Equal reports whether h and o hold the same counts. (go-cmp uses it,
// comparing histograms whole rather than bucket by bucket.)
func (h Histogram) Equal(o Histogram) bool { return h == o }

// Count is the number of latencies counted.
func (h *Histogram) Count() uint64 { return h.n }

// Quantile returns the q-quantile (0 < q ≤ 1) of the latencies counted:
// the middle of the bucket holding the ⌈q·n⌉-th smallest, within
// HistogramError of it. It is 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			if i == 0 {
				return 0
			}
			us := histLower(i) * math.Sqrt(histGamma)
			return time.Duration(us * float64(time.Microsecond))
		}
	}
	return 0 // not reached: the counts add up to n
}

// MarshalBinary encodes the histogram compactly: for each non-empty bucket
// in order, the gap from the previous one's index and its count, both as
// uvarints. An empty histogram is no bytes; one latency is two.
func (h *Histogram) MarshalBinary() ([]byte, error) { return h.AppendBinary(nil) }

// AppendBinary appends the encoding of MarshalBinary to b.
func (h *Histogram) AppendBinary(b []byte) ([]byte, error) {
	prev := -1
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		b = binary.AppendUvarint(b, uint64(i-prev-1))
		b = binary.AppendUvarint(b, c)
		prev = i
	}
	return b, nil
}

var errHistogram = errors.New("malformed latency histogram")

// UnmarshalBinary decodes what MarshalBinary wrote, replacing h's counts.
// It returns an error for malformed input, leaving h unchanged, and never
// panics.
func (h *Histogram) UnmarshalBinary(b []byte) error {
	if err := checkBinary(b, 0); err != nil {
		return err
	}
	*h = Histogram{}
	h.addBinary(b)
	return nil
}

// MergeBinary adds the counts encoded in b (by MarshalBinary) to h. On a
// malformed b it returns an error and leaves h unchanged. It costs what b
// holds, a few bytes a bucket, not the 256 buckets of a Merge: merging
// many small histograms is cheapest this way.
func (h *Histogram) MergeBinary(b []byte) error {
	if err := checkBinary(b, h.n); err != nil {
		return err
	}
	h.addBinary(b)
	return nil
}

// checkBinary reports whether b is a valid encoding whose counts can be
// added to a histogram of n latencies without overflow.
func checkBinary(b []byte, n uint64) error {
	i := -1
	for len(b) > 0 {
		gap, k := binary.Uvarint(b)
		if k <= 0 || gap >= histBuckets {
			return errHistogram
		}
		b = b[k:]
		c, k := binary.Uvarint(b)
		if k <= 0 || c == 0 {
			return errHistogram
		}
		b = b[k:]
		i += int(gap) + 1
		if i >= histBuckets || n+c < n {
			return errHistogram
		}
		n += c
	}
	return nil
}

// addBinary adds the counts of b, which checkBinary found valid.
func (h *Histogram) addBinary(b []byte) {
	i := -1
	for len(b) > 0 {
		gap, k := binary.Uvarint(b)
		b = b[k:]
		c, k := binary.Uvarint(b)
		b = b[k:]
		i += int(gap) + 1
		h.counts[i] += c
		h.n += c
	}
}

package uptime

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile is the ⌈q·n⌉-th smallest of sorted.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// TestHistogramErrorBound is a property test: on random data of several
// shapes, every percentile the histogram gives is within HistogramError
// (under 5 %) of the exact one, and so is the merge of the data split
// across many histograms, as rollups are merged.
func TestHistogramErrorBound(t *testing.T) {
	if HistogramError > 0.05 {
		t.Fatalf("HistogramError = %.4f, want at most 5 %%", HistogramError)
	}
	shapes := map[string]func(r *rand.Rand) time.Duration{
		"log-normal around 40ms": func(r *rand.Rand) time.Duration {
			return time.Duration(math.Exp(r.NormFloat64()*0.8 + math.Log(40e6)))
		},
		"uniform 1µs to 10s": func(r *rand.Rand) time.Duration {
			return time.Microsecond + time.Duration(r.Int64N(int64(10*time.Second)))
		},
		"bimodal fast and timeouts": func(r *rand.Rand) time.Duration {
			if r.IntN(10) == 0 {
				return 10*time.Second + time.Duration(r.Int64N(int64(time.Millisecond)))
			}
			return time.Duration(200_000 + r.Int64N(2_000_000))
		},
		"identical": func(*rand.Rand) time.Duration { return 123456 * time.Microsecond },
	}
	for name, gen := range shapes {
		t.Run(name, func(t *testing.T) {
			for seed := range uint64(20) {
				r := rand.New(rand.NewPCG(seed, 99))
				n := 1 + r.IntN(5000)
				data := make([]time.Duration, n)
				var whole Histogram
				parts := make([]Histogram, 1+r.IntN(50))
				for i := range data {
					data[i] = gen(r)
					whole.Add(data[i])
					parts[r.IntN(len(parts))].Add(data[i])
				}
				var merged Histogram
				for i := range parts {
					b, _ := parts[i].MarshalBinary()
					if err := merged.MergeBinary(b); err != nil {
						t.Fatal(err)
					}
				}
				if merged != whole {
					t.Fatalf("seed %d: merged parts differ from the whole", seed)
				}
				slices.Sort(data)
				for _, q := range []float64{0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
					want := exactQuantile(data, q)
					got := whole.Quantile(q)
					if rel := math.Abs(float64(got-want)) / float64(want); rel > HistogramError+1e-9 {
						t.Errorf("seed %d n %d: p%v = %v, exact %v: %.2f %% off", seed, n, q*100, got, want, rel*100)
					}
				}
			}
		})
	}
}

func TestHistogramEncoding(t *testing.T) {
	var h Histogram
	if b, _ := h.MarshalBinary(); len(b) != 0 || h.Quantile(0.5) != 0 {
		t.Errorf("empty histogram: %d bytes, p50 %v", len(b), h.Quantile(0.5))
	}
	h.Add(42 * time.Millisecond)
	if b, _ := h.MarshalBinary(); len(b) != 2 {
		t.Errorf("one latency takes %d bytes, want 2", len(b))
	}
	h.Add(0)
	h.Add(2 * time.Hour) // past the last bound: kept in the last bucket
	b, _ := h.MarshalBinary()
	var back Histogram
	if err := back.UnmarshalBinary(b); err != nil || back != h {
		t.Fatalf("round trip: %v, equal %v", err, back == h)
	}
	for _, bad := range [][]byte{{0}, {0, 0}, {255, 3, 1}, {200, 1, 100, 1}, {0, 0xff}} {
		keep := back
		if err := back.UnmarshalBinary(bad); err == nil || back != keep {
			t.Errorf("%x: err %v, histogram changed %v", bad, err, back != keep)
		}
		// A valid start followed by garbage is not half merged either.
		if err := back.MergeBinary(append(slices.Clone(b), bad...)); err == nil || back != keep {
			t.Errorf("merge of %x: err %v, histogram changed %v", bad, err, back != keep)
		}
	}
	// Counts that would overflow are refused whole.
	full := back
	if err := full.MergeBinary(binary.AppendUvarint([]byte{0}, math.MaxUint64)); err == nil || full != back {
		t.Errorf("an overflowing merge: err %v, histogram changed %v", err, full != back)
	}
	twice := back
	if err := twice.MergeBinary(b); err != nil || twice.Count() != 2*back.Count() || twice.Quantile(1) != back.Quantile(1) {
		t.Errorf("merging its own encoding: %v, %d latencies, want %d", err, twice.Count(), 2*back.Count())
	}
}

func FuzzHistogramUnmarshal(f *testing.F) {
	var h Histogram
	h.Add(time.Millisecond)
	h.Add(time.Second)
	b, _ := h.MarshalBinary()
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Histogram
		if err := h.UnmarshalBinary(b); err != nil {
			return
		}
		again, _ := h.MarshalBinary()
		var back Histogram
		if err := back.UnmarshalBinary(again); err != nil || back != h {
			t.Fatalf("%x decoded, re-encoded as %x, which decodes differently (%v)", b, again, err)
		}
		var sum uint64
		for _, c := range h.counts {
			sum += c
		}
		if sum != h.Count() {
			t.Fatalf("counts add up to %d, Count says %d", sum, h.Count())
		}
	})
}

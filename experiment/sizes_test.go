package experiment

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSizeDistributions(t *testing.T) {
	dir := t.TempDir()
	cdf := filepath.Join(dir, "web.cdf")
	// Half the flows 1000 bytes, the rest spread evenly up to 11000.
	os.WriteFile(cdf, []byte("# size p\n1000 0\n1000 0.5\n11000 1\n"), 0o644)
	pts, err := ReadCDF(cdf)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		d        SizeDist
		mean     float64
		tol      float64
		min, max float64
	}{
		{SizeDist{Dist: DistFixed, Mean: 1500}, 1500, 0, 1500, 1500},
		{SizeDist{Dist: DistExponential, Mean: 100000}, 100000, 0.03, 1, math.Inf(1)},
		{SizeDist{Dist: DistPareto, Mean: 100000, Shape: 2.5}, 100000, 0.05, 60000, math.Inf(1)},
		{SizeDist{Dist: DistCDF, Points: pts}, 0.5*1000 + 0.5*6000, 0.03, 1000, 11000},
	} {
		r := rand.New(rand.NewPCG(1, 2))
		const n = 50000
		var sum float64
		for range n {
			v := float64(tc.d.Sample(r))
			if v < tc.min || v > tc.max {
				t.Fatalf("%s: sample %v outside [%v, %v]", tc.d.Dist, v, tc.min, tc.max)
			}
			sum += v
		}
		if got := sum / n; math.Abs(got-tc.mean) > tc.tol*tc.mean+0.5 {
			t.Errorf("%s: mean %.0f, want %.0f ± %.0f%%", tc.d.Dist, got, tc.mean, tc.tol*100)
		}
		// The same seed draws the same sizes.
		a, b := rand.New(rand.NewPCG(7, 7)), rand.New(rand.NewPCG(7, 7))
		for range 100 {
			if tc.d.Sample(a) != tc.d.Sample(b) {
				t.Fatalf("%s: two draws from one seed differ", tc.d.Dist)
			}
		}
	}
}

func TestReadCDFErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"1000 0.5\n", "want at least two points"},
		{"1000 0.5\n900 1\n", ":2: the points must not decrease"},
		{"1000 0.2\n2000 0.9\n", "the last probability is 0.9, not 1"},
		{"1KB 10%\n2KB 100%\n", ""},
		{"1000 x\n2000 1\n", `:1: bad probability "x"`},
		{"1000\n", ":1: want SIZE PROBABILITY"},
	} {
		path := filepath.Join(t.TempDir(), "x.cdf")
		os.WriteFile(path, []byte(tc.body), 0o644)
		pts, err := ReadCDF(path)
		if tc.want == "" {
			if err != nil || pts[0].Size != 1000 || pts[1].P != 1 {
				t.Errorf("%q: %v %v", tc.body, pts, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.body, err, tc.want)
		}
	}
}

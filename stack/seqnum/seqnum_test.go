package seqnum

import "testing"

func TestCompareAcrossWrap(t *testing.T) {
	tests := []struct {
		v, w             Value
		less, lessEq, gt bool
	}{
		{1, 2, true, true, false},
		{2, 1, false, false, true},
		{5, 5, false, true, false},
		{0xfffffff0, 0x10, true, true, false},
		{0x10, 0xfffffff0, false, false, true},
	}
	for _, tc := range tests {
		if got := tc.v.LessThan(tc.w); got != tc.less {
			t.Errorf("%d.LessThan(%d) = %v, want %v", tc.v, tc.w, got, tc.less)
		}
		if got := tc.v.LessThanEq(tc.w); got != tc.lessEq {
			t.Errorf("%d.LessThanEq(%d) = %v, want %v", tc.v, tc.w, got, tc.lessEq)
		}
		if got := tc.v.GreaterThan(tc.w); got != tc.gt {
			t.Errorf("%d.GreaterThan(%d) = %v, want %v", tc.v, tc.w, got, tc.gt)
		}
		if got := tc.v.GreaterThanEq(tc.w); got != !tc.less {
			t.Errorf("%d.GreaterThanEq(%d) = %v, want %v", tc.v, tc.w, got, !tc.less)
		}
	}
}

func TestWindowAndArithmetic(t *testing.T) {
	first := Value(0xffffff00)
	tests := []struct {
		v    Value
		size Size
		in   bool
	}{
		{0xffffff00, 0x200, true},
		{0x000000ff, 0x200, true},
		{0x00000100, 0x200, false},
		{0xfffffeff, 0x200, false},
		{0xffffff00, 0, false},
	}
	for _, tc := range tests {
		if got := tc.v.InWindow(first, tc.size); got != tc.in {
			t.Errorf("%#x.InWindow(%#x, %#x) = %v, want %v", tc.v, first, tc.size, got, tc.in)
		}
	}
	if got := first.Add(0x200); got != 0x100 {
		t.Errorf("Add = %#x, want 0x100", got)
	}
	if got := Value(0x100).Sub(first); got != 0x200 {
		t.Errorf("Sub = %#x, want 0x200", got)
	}
	if Max(0xfffffff0, 5) != 5 || Min(0xfffffff0, 5) != 0xfffffff0 {
		t.Error("Max/Min wrong across wrap")
	}
	if !Overlap(10, 5, 14, 5) || Overlap(10, 5, 15, 5) || !Overlap(0xfffffffe, 4, 1, 1) {
		t.Error("Overlap wrong")
	}
}

// Package suggest finds the word a user probably meant ("did you mean"),
// for the messages of every parser of netlab's files and flags.
package suggest

import "strings"

// Closest returns the candidate closest to word by edit distance, ignoring
// case, when it is close enough to be a likely typo, or "".
func Closest(word string, candidates []string) string {
	best, bestD := "", -1
	lw := strings.ToLower(word)
	for _, c := range candidates {
		d := editDistance(lw, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 {
		return ""
	}
	limit := 2
	if n := max(len(word), len(best)); n <= 4 {
		limit = 1
	}
	if bestD > limit || bestD >= len(word) {
		return ""
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b
// (Levenshtein plus transposition of adjacent bytes, so "mut" is one edit
// from "mtu").
func editDistance(a, b string) int {
	rows := [3][]int{make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)}
	for j := range rows[1] {
		rows[1][j] = j
	}
	for i := 1; i <= len(a); i++ {
		pp, prev, cur := rows[0], rows[1], rows[2]
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], pp[j-2]+1)
			}
		}
		rows[0], rows[1], rows[2] = prev, cur, pp
	}
	return rows[1][len(b)]
}

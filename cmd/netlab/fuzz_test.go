package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSockScript feeds arbitrary files to the --script parser: it must not
// panic; every error line names the file and a line of it; every step it
// returns is a call the command line would accept, or a sleep.
func FuzzSockScript(f *testing.F) {
	for _, seed := range []string{
		"-",    // issue 11: index out of range
		"x =",  // issue 11: index out of range
		"- \n", //
		"x = -",
		"= h1 socket",
		"c = h1 socket\nh1 connect $c 10.0.0.1 80\nh1 write $c --size 1000\n-h1 read $c 65536\nsleep 200ms\nh1 close $c\n",
		"s = h2 socket\nh2 bind $s :80\nh2 listen $s 5\na = h2 accept $s\nh2 setopt $a rcvbuf 65536\nh2 shutdown $a rdwr\n# done\n",
		"h1 write 3 --size",
		"sleep\nsleep 1 s\nsleep -1s",
		"$c close 3\nh1 $c\nh1 close $\nh1 close $1",
		"c = h1 socket\r\nh1 info $c\r\n",
	} {
		f.Add([]byte(seed))
	}
	lineRe := regexp.MustCompile(`^fuzz\.sock:([0-9]+): .`)
	f.Fuzz(func(t *testing.T, data []byte) {
		steps, err := parseSockScript("fuzz.sock", data)
		lines := strings.Count(string(data), "\n") + 1
		if err != nil {
			for _, l := range strings.Split(err.Error(), "\n") {
				m := lineRe.FindStringSubmatch(l)
				if m == nil {
					t.Fatalf("error line %q does not start with fuzz.sock:LINE: ", l)
				}
				if n, _ := strconv.Atoi(m[1]); n < 1 || n > lines {
					t.Fatalf("error line %q: line %d of %d", l, n, lines)
				}
			}
			return
		}
		set := map[string]bool{}
		for _, st := range steps {
			if st.line < 1 || st.line > lines {
				t.Fatalf("step on line %d of %d", st.line, lines)
			}
			if st.node == "" {
				if st.sleep < 0 || st.assign != "" {
					t.Fatalf("line %d: bad sleep step %+v", st.line, st)
				}
				continue
			}
			args := append([]string(nil), st.args...)
			for k, a := range args {
				if v, ok := varRef(a); ok && k > 0 && set[v] {
					args[k] = "3"
				}
			}
			if _, err := parseSockCall(st.node, args, st.size, 0); err != nil {
				t.Fatalf("line %d: step %+v does not make a call: %v", st.line, st, err)
			}
			if st.assign != "" {
				if !isVarName(st.assign) {
					t.Fatalf("line %d: assigns %q", st.line, st.assign)
				}
				set[st.assign] = true
			}
		}
	})
}

// FuzzParseSize feeds arbitrary strings to the --bytes parser of `netlab
// tcp send`: no panic, no negative count, only a number with an optional
// unit accepted, and plain integers read as themselves.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "5000", "10MB", "1GiB", "1.5K", "64KiB", "3B", "", "MB", "-1", "1e400GB", "10XB", "5000abc", "1e18G", "NaNK", " 5"} {
		f.Add(s)
	}
	units := []string{"KiB", "MiB", "GiB", "KB", "MB", "GB", "K", "M", "G", "B"}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			if !utf8.ValidString(s) || strings.Contains(err.Error(), strconv.Quote(s)) {
				return
			}
			t.Fatalf("parseSize(%q) error %q does not quote the input", s, err)
		}
		if n < 0 {
			t.Fatalf("parseSize(%q) = %d, negative", s, n)
		}
		num := s
		for _, u := range units {
			if rest, ok := strings.CutSuffix(s, u); ok {
				num = rest
				break
			}
		}
		if _, err := strconv.ParseFloat(num, 64); err != nil {
			t.Fatalf("parseSize(%q) = %d: %q is not a number", s, n, num)
		}
		if v, err := strconv.ParseInt(s, 10, 64); err == nil && v != n {
			t.Fatalf("parseSize(%q) = %d, want %d", s, n, v)
		}
	})
}

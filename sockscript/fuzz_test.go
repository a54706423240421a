package sockscript

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// FuzzSockScript feeds arbitrary files to the script parser: it must not
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
		steps, err := Parse("fuzz.sock", data)
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
			if _, err := ParseCall(st.node, args, st.size, 0); err != nil {
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

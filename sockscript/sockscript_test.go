package sockscript

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netlab/netlab/nodeagent"
)

// TestParse parses scripts, good and malformed: a malformed line
// is an error naming the file and line and saying what is allowed, never a
// panic (issue 11: "-" and "x =" alone panicked).
func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   []string // errors, one per line, in order; nil: it parses
	}{
		{name: "the seed", script: `# a comment
s = h2 socket
h2 bind $s :80
h2 listen $s 5
c = h1 socket tcp
h1 connect $c 10.0.0.1 80
a = h2 accept $s
h1 write $c hello world
h1 write $c --size 100000
sleep 300ms
-h2 read $a 65536
- h2 read $a
h2 shutdown $a rdwr
h1 setopt $c nodelay 1
h1 info $c
h1 close $c
`},
		{name: "CRLF and blank lines", script: "c = h1 socket\r\n\r\n   \r\nh1 close $c\r\n"},
		{name: "data that looks like a variable", script: "c = h1 socket\nh1 write $c $HOME costs $5\n"},
		{name: "a dash alone", script: "-\n", want: []string{`s.sock:1: "-" needs a call after it: - NODE CALL [ARGS...]`}},
		{name: "a dash and spaces", script: "c = h1 socket\n  -   \n", want: []string{`s.sock:2: "-" needs a call after it`}},
		{name: "an assignment without a call", script: "x =\n", want: []string{`s.sock:1: x = needs a call after it: x = NODE socket (or accept)`}},
		{name: "an assignment without a name", script: "= h1 socket\n", want: []string{`s.sock:1: "=" needs a name before it: x = NODE socket`}},
		{name: "a bad name", script: "1x = h1 socket\n", want: []string{`s.sock:1: "1x" is not a name for a descriptor`}},
		{name: "assigning a call that gives no descriptor", script: "c = h1 socket\nn = h1 read $c\n", want: []string{`s.sock:2: n = read: only socket and accept give a descriptor to keep`}},
		{name: "a node alone", script: "h1\n", want: []string{`s.sock:1: want NODE CALL [ARGS...], not "h1"; a line is "NODE CALL [ARGS...]"`}},
		{name: "an unknown call", script: "h1 sockit\n", want: []string{`s.sock:1: unknown call "sockit": socket, bind, listen, accept, connect, write, read, shutdown, close, info or setopt`}},
		{name: "a variable never set", script: "h1 close $c\n", want: []string{`s.sock:1: close: $c is not set on an earlier line (c = NODE socket)`}},
		{name: "a variable set later", script: "h1 close $c\nc = h1 socket\n", want: []string{`s.sock:1: close: $c is not set on an earlier line`}},
		{name: "a variable as the node", script: "c = h1 socket\n$c close 3\n", want: []string{`s.sock:2: want NODE CALL [ARGS...]: a $descriptor comes after the call`}},
		{name: "a descriptor that is no number", script: "h1 close three\nh1 close $\nh1 close $1\n", want: []string{
			`s.sock:1: close: descriptor "three" is not a number`,
			`s.sock:2: close: descriptor "$" is not a number`,
			`s.sock:3: close: descriptor "$1" is not a number`,
		}},
		{name: "a negative descriptor", script: "h1 close -1\n", want: []string{`s.sock:1: close: descriptor "-1" is not a number`}},
		{name: "missing arguments", script: "c = h1 socket\nh1 connect $c 10.0.0.1\nh1 bind $c\nh1 setopt $c nodelay\nh1 write $c\n", want: []string{
			`s.sock:2: usage: netlab sock h1 connect FD IP PORT`,
			`s.sock:3: usage: netlab sock h1 bind FD [IP]:PORT`,
			`s.sock:4: usage: netlab sock h1 setopt FD NAME VALUE`,
			`s.sock:5: usage: netlab sock h1 write FD DATA|--size N`,
		}},
		{name: "too many arguments", script: "c = h1 socket\nh1 close $c now\nh1 listen $c 5 6\n", want: []string{
			`s.sock:2: usage: netlab sock h1 close FD`,
			`s.sock:3: usage: netlab sock h1 listen FD [BACKLOG]`,
		}},
		{name: "a bad socket type", script: "h1 socket sctp\n", want: []string{`s.sock:1: usage: netlab sock h1 socket [tcp|udp]`}},
		{name: "numbers that are not", script: "c = h1 socket\nh1 listen $c many\nh1 read $c lots\n", want: []string{
			`s.sock:2: listen: backlog "many" is not a number`,
			`s.sock:3: read: size "lots" is not a number`,
		}},
		{name: "bad --size", script: "c = h1 socket\nh1 write $c --size\nh1 write $c --size big\nh1 write $c x --size 5\n", want: []string{
			`s.sock:2: --size needs a number of bytes`,
			`s.sock:3: --size "big": want a number of bytes`,
			`s.sock:4: write: give DATA or --size N, not both`,
		}},
		{name: "bad sleeps", script: "sleep\nsleep 200\nsleep 1 s\nsleep -1s\nx = sleep 1s\n", want: []string{
			`s.sock:1: want sleep DURATION, e.g. sleep 200ms`,
			`s.sock:2: sleep 200: want a duration, e.g. 200ms or 1.5s`,
			`s.sock:3: want sleep DURATION`,
			`s.sock:4: sleep -1s: want a duration`,
			`s.sock:5: x = sleep: sleep gives no descriptor to keep`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := Parse("s.sock", []byte(tc.script))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if len(steps) == 0 {
					t.Fatal("no steps")
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse = %d steps, nil; want errors %q", len(steps), tc.want)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tc.want) {
				t.Fatalf("errors:\n%s\nwant %d: %q", err, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("error %d = %q, want it to start with %q", i, got[i], w)
				}
			}
		})
	}
}

// TestParseSteps checks what the seed's lines become.
func TestParseSteps(t *testing.T) {
	steps, err := Parse("s.sock", []byte("c = h1 socket\n\n- h1 write $c --size 5000\nsleep 1.5s\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Step{
		{line: 1, assign: "c", node: "h1", args: []string{"socket"}, words: []string{"h1", "socket"}},
		{line: 3, tolerate: true, node: "h1", args: []string{"write", "$c"}, size: 5000, words: []string{"h1", "write", "$c", "--size", "5000"}},
		{line: 4, sleep: 1500 * time.Millisecond, words: []string{"sleep", "1.5s"}},
	}
	if diff := cmp.Diff(want, steps, cmp.AllowUnexported(Step{})); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
}

// TestParseCall checks the calls of the command line.
func TestParseCall(t *testing.T) {
	tests := []struct {
		args    []string
		size    int
		want    nodeagent.SockCall
		wantErr string
	}{
		{args: []string{"socket"}, want: nodeagent.SockCall{Call: "socket"}},
		{args: []string{"socket", "udp"}, want: nodeagent.SockCall{Call: "socket", Type: "udp"}},
		{args: []string{"bind", "3", ":80"}, want: nodeagent.SockCall{Call: "bind", FD: 3, Addr: ":80"}},
		{args: []string{"listen", "3"}, want: nodeagent.SockCall{Call: "listen", FD: 3, Backlog: 5}},
		{args: []string{"connect", "3", "10.0.0.1", "80"}, want: nodeagent.SockCall{Call: "connect", FD: 3, Addr: "10.0.0.1:80"}},
		{args: []string{"write", "3", "a", "b"}, want: nodeagent.SockCall{Call: "write", FD: 3, Data: "a b"}},
		{args: []string{"write", "3"}, size: 10, want: nodeagent.SockCall{Call: "write", FD: 3, Size: 10}},
		{args: []string{"read", "4", "100"}, want: nodeagent.SockCall{Call: "read", FD: 4, Size: 100}},
		{args: []string{"read", "4", "100", "all"}, want: nodeagent.SockCall{Call: "read", FD: 4, Size: 100, All: true}},
		{args: []string{"read", "4", "100", "some"}, wantErr: `read: "some" after the size: only all`},
		{args: []string{"read", "4"}, size: 7, want: nodeagent.SockCall{Call: "read", FD: 4, Size: 7}},
		{args: []string{"shutdown", "3"}, want: nodeagent.SockCall{Call: "shutdown", FD: 3, How: "wr"}},
		{args: []string{"setopt", "3", "rcvbuf", "65536"}, want: nodeagent.SockCall{Call: "setopt", FD: 3, Opt: "rcvbuf", Value: "65536"}},
		{args: []string{"info", "3"}, want: nodeagent.SockCall{Call: "info", FD: 3}},
		{args: nil, wantErr: "want a call after h1"},
		{args: []string{"accept"}, wantErr: "usage: netlab sock h1 accept FD"},
		{args: []string{"read", "3"}, size: -1, wantErr: "--size -1: want a number of bytes"},
		{args: []string{"frobnicate", "3"}, wantErr: `unknown call "frobnicate"`},
	}
	for _, tc := range tests {
		got, err := ParseCall("h1", tc.args, tc.size, 0)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseCall(%q) error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseCall(%q): %v", tc.args, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseCall(%q) (-want +got):\n%s", tc.args, diff)
		}
	}
}

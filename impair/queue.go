package impair

// Packet flags.
const (
	flagCopy uint8 = 1 << iota
	flagCorrupted
	flagMarked
	flagAhead
	// flagPooled says buf came from the Direction's pool and goes back to
	// it once sent or dropped; without it buf is the caller's frame.
	flagPooled
)

// packet is a frame held by a Direction. Times are nanoseconds since the
// Direction's epoch.
type packet struct {
	buf   []byte
	seq   uint64
	enq   int64 // when it entered the rate queue
	delay int64 // the delay drawn for it
	at    int64 // when the delay line releases it
	flags uint8
}

// fifo is a ring buffer of packets: the rate queue.
type fifo struct {
	buf  []packet
	head int
	n    int
}

func (q *fifo) push(p packet) {
	if q.n == len(q.buf) {
		nb := make([]packet, max(16, 2*len(q.buf)))
		for i := range q.n {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = p
	q.n++
}

func (q *fifo) front() *packet { return &q.buf[q.head] }

func (q *fifo) pop() packet {
	p := q.buf[q.head]
	q.buf[q.head] = packet{}
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return p
}

func (q *fifo) back() *packet { return &q.buf[(q.head+q.n-1)%len(q.buf)] }

// line is the delay line: frames by release time, ties in Seq order, as
// netem's tfifo. Frames that come in order (all of them with a constant
// delay or KeepOrder) go to a FIFO, O(1) each way; the others to a binary
// min-heap. The head is the earlier of the two heads.
type line struct {
	inOrder fifo
	heap    []packet
}

// before reports whether a leaves before b.
func before(a, b *packet) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (l *line) len() int { return l.inOrder.n + len(l.heap) }

// head returns the frame that leaves first; the line must not be empty.
func (l *line) head() *packet {
	switch {
	case len(l.heap) == 0:
		return l.inOrder.front()
	case l.inOrder.n == 0:
		return &l.heap[0]
	case before(l.inOrder.front(), &l.heap[0]):
		return l.inOrder.front()
	}
	return &l.heap[0]
}

func (l *line) push(p packet) {
	if l.inOrder.n == 0 || !before(&p, l.inOrder.back()) {
		l.inOrder.push(p)
		return
	}
	l.heap = append(l.heap, p)
	h := l.heap
	i := len(h) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !before(&h[i], &h[parent]) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

// pop removes and returns the head; the line must not be empty.
func (l *line) pop() packet {
	if len(l.heap) == 0 || (l.inOrder.n > 0 && before(l.inOrder.front(), &l.heap[0])) {
		return l.inOrder.pop()
	}
	h := l.heap
	p := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = packet{}
	h = h[:last]
	i := 0
	for {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if r := c + 1; r < len(h) && before(&h[r], &h[c]) {
			c = r
		}
		if !before(&h[c], &h[i]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	l.heap = h
	return p
}

// drain removes every frame, calling f on each.
func (l *line) drain(f func(packet)) {
	for l.inOrder.n > 0 {
		f(l.inOrder.pop())
	}
	for i := range l.heap {
		f(l.heap[i])
		l.heap[i] = packet{}
	}
	l.heap = l.heap[:0]
}

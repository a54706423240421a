package impair

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/suggest"
	"github.com/netlab/netlab/internal/units"
)

// The netem grammar: the keys of a `netem:` block, their values, defaults
// and checks. Parse reads a block from a Value tree that a reader of some
// text format builds (topology reads YAML; the CLI turns its flags into
// one), and reports every problem with where it is.

// Kind says what a Value is.
type Kind uint8

const (
	// KindNull is an absent value (YAML's null, an empty value).
	KindNull Kind = iota
	// KindScalar is a string, number or boolean.
	KindScalar
	// KindList is a sequence of values.
	KindList
	// KindMap is a mapping of keys to values.
	KindMap
)

// Tag says how the reader typed a scalar: where a number or a boolean is
// wanted, Parse checks the tag, so that a quoted "10" is not a number.
type Tag uint8

const (
	// TagStr is a string (and anything the reader did not type).
	TagStr Tag = iota
	// TagInt is an integer.
	TagInt
	// TagFloat is a floating-point number.
	TagFloat
	// TagBool is true or false.
	TagBool
)

// Pos is where a value is written: a line and column in the reader's
// text, 1-based. The zero Pos means unknown.
type Pos struct {
	Line, Col int
}

// String formats p as "line:col".
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Value is one value of a netem block as written.
type Value struct {
	// Kind is what the value is.
	Kind Kind
	// Text is a scalar's text.
	Text string
	// Tag is how the reader typed a scalar.
	Tag Tag
	// Items are a list's values.
	Items []Value
	// Fields are a mapping's entries in the order written, each key once.
	Fields []Field
	// Pos is where the value is written.
	Pos Pos
}

// Field is one entry of a mapping.
type Field struct {
	Key    string
	KeyPos Pos
	Value  Value
}

// Key is one key of a netem block. Keys are the keys of its value when
// that is a mapping with keys of its own (loss-model, outage), else nil.
type Key struct {
	Name string
	Keys []string
}

// The keys of the mappings within a block.
var (
	lossModelKeys = []string{"model", "p13", "p31", "p32", "p23", "p14", "p", "r", "1-h", "1-k"}
	outageKeys    = []string{"every", "for", "offset"}
)

// Keys returns the keys a netem block accepts, in the grammar's order.
func Keys() []Key {
	var ks []Key
	for _, k := range []string{"delay", "jitter", "correlation", "distribution", "loss",
		"duplicate", "corrupt", "reorder", "gap", "rate", "rate-overhead", "limit", "limit-bytes",
		"ecn", "codel", "seed", "order", "drop-every", "drop-packets", "drop-match"} {
		ks = append(ks, Key{Name: k})
	}
	return append(ks, Key{Name: "loss-model", Keys: slices.Clone(lossModelKeys)}, Key{Name: "outage", Keys: slices.Clone(outageKeys)})
}

// Error is one problem Parse found in a block.
type Error struct {
	// Path leads from the block to the value at fault: keys joined by
	// dots, list items by index ("loss-model.p13", "drop-packets[2]");
	// empty for the block itself.
	Path string
	// Pos is where the value (or, for a problem of a key, the key) is
	// written, as the reader gave it.
	Pos Pos
	// Msg says what is wrong and what is allowed.
	Msg string
}

// Error returns Msg.
func (e *Error) Error() string { return e.Msg }

// ErrorList is every problem Parse found in a block.
type ErrorList []*Error

// Error joins the messages with "; ".
func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Msg
	}
	return strings.Join(msgs, "; ")
}

// ParseOptions tune Parse.
type ParseOptions struct {
	// Name names the block in messages: "netem", "netem.a-to-b".
	Name string
	// LoadTable reads a jitter distribution that is not built in: the
	// path of a .dist file or the name of an iproute2 table, as written.
	// It returns the table and the name for Config.DistributionName (a
	// path made absolute, say). Without it only the built-in
	// distributions are allowed.
	LoadTable func(name string) (table DistTable, resolved string, err error)
}

// Parse reads one direction's impairment from a netem block: a mapping of
// the keys Keys lists (delay: 50ms, jitter: 5ms, loss: 2%, rate: 10mbit,
// limit: 100, drop-match: ["syn first"]...), with netem's defaults and
// checks (jitter needs delay, gap needs reorder, a queue limit of
// DefaultLimit frames unless limit or limit-bytes is given, iproute2's
// defaults for the loss models' parameters). Percentages become fractions
// ("2%" or "2" is 0.02). A block that is not valid yields an ErrorList
// holding every problem; the Config is then what could be read.
func Parse(v Value, o ParseOptions) (Config, error) {
	p := &parser{o: o}
	c := p.block(&v)
	if len(p.errs) > 0 {
		return c, p.errs
	}
	return c, nil
}

type parser struct {
	o    ParseOptions
	errs ErrorList
}

func (p *parser) errorf(path string, pos Pos, format string, args ...any) {
	p.errs = append(p.errs, &Error{Path: path, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// item is a value being read, with its key (messages name it) and path.
type item struct {
	key, path string
	v         *Value
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe says what a value is, for "want X, got Y" messages.
func describe(v *Value) string {
	switch v.Kind {
	case KindNull:
		return "nothing"
	case KindMap:
		return "a mapping"
	case KindList:
		return "a list"
	}
	return strconv.Quote(v.Text)
}

// object returns the fields of mapping v whose keys are allowed,
// reporting the others. Null is an empty mapping. ctx names the mapping
// in messages.
func (p *parser) object(v *Value, path, ctx string, allowed []string) []Field {
	switch v.Kind {
	case KindNull:
		return nil
	case KindMap:
	default:
		p.errorf(path, v.Pos, "%s: want a mapping, got %s", ctx, describe(v))
		return nil
	}
	sorted := slices.Sorted(slices.Values(allowed))
	var out []Field
	for _, f := range v.Fields {
		if slices.Contains(allowed, f.Key) {
			out = append(out, f)
			continue
		}
		list := strings.Join(sorted, ", ")
		if sug := suggest.Closest(f.Key, sorted); sug != "" {
			p.errorf(join(path, f.Key), f.KeyPos, "unknown key %q in %s; did you mean %q? (allowed: %s)", f.Key, ctx, sug, list)
		} else {
			p.errorf(join(path, f.Key), f.KeyPos, "unknown key %q in %s (allowed: %s)", f.Key, ctx, list)
		}
	}
	return out
}

func (p *parser) list(it item) []item {
	switch it.v.Kind {
	case KindNull:
		return nil
	case KindList:
	default:
		p.errorf(it.path, it.v.Pos, "%s: want a list, got %s", it.key, describe(it.v))
		return nil
	}
	out := make([]item, len(it.v.Items))
	for i := range it.v.Items {
		out[i] = item{key: it.key, path: fmt.Sprintf("%s[%d]", it.path, i), v: &it.v.Items[i]}
	}
	return out
}

func (p *parser) scalar(it item, want string) (string, bool) {
	if it.v.Kind != KindScalar {
		p.errorf(it.path, it.v.Pos, "%s: want %s, got %s", it.key, want, describe(it.v))
		return "", false
	}
	return it.v.Text, true
}

func (p *parser) boolean(it item) bool {
	if it.v.Kind == KindScalar && it.v.Tag == TagBool {
		return strings.EqualFold(it.v.Text, "true")
	}
	p.errorf(it.path, it.v.Pos, "%s: want true or false, got %s", it.key, describe(it.v))
	return false
}

// integer reads an integer in [lo, hi].
func (p *parser) integer(it item, lo, hi int64) (int64, bool) {
	s, ok := p.scalar(it, "an integer")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
	if err != nil || it.v.Tag != TagInt {
		p.errorf(it.path, it.v.Pos, "%s: want an integer, got %s", it.key, describe(it.v))
		return 0, false
	}
	if v < lo || v > hi {
		p.errorf(it.path, it.v.Pos, "%s %d is out of range (allowed: %d to %d)", it.key, v, lo, hi)
		return 0, false
	}
	return v, true
}

func (p *parser) intIn(it item, lo, hi int) int {
	v, _ := p.integer(it, int64(lo), int64(hi))
	return int(v)
}

func (p *parser) seed(it item) uint64 {
	s, ok := p.scalar(it, "an integer")
	if !ok {
		return 0
	}
	v, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 0, 64)
	if err != nil {
		p.errorf(it.path, it.v.Pos, "%s: want an integer from 0 to %d, got %s", it.key, uint64(math.MaxUint64), describe(it.v))
		return 0
	}
	return v
}

// parsed reads a scalar through parse, reporting its error at the value.
func parsed[T any](p *parser, it item, want string, parse func(string) (T, error)) (T, bool) {
	var zero T
	s, ok := p.scalar(it, want)
	if !ok {
		return zero, false
	}
	v, err := parse(s)
	if err != nil {
		p.errorf(it.path, it.v.Pos, "%s: %v", it.key, err)
		return zero, false
	}
	return v, true
}

// block reads one direction's block.
func (p *parser) block(v *Value) Config {
	ctx := p.o.Name
	var c Config
	names := make([]string, 0, 24)
	for _, k := range Keys() {
		names = append(names, k.Name)
	}
	fields := p.object(v, "", ctx, names)
	at := map[string]Pos{} // where each key given is written
	percent := func(it item) float64 { x, _ := parsed(p, it, "a percentage", units.ParsePercent); return x }
	duration := func(it item) time.Duration {
		d, ok := parsed(p, it, "a duration", units.ParseDuration)
		if ok && d > MaxDelay {
			p.errorf(it.path, it.v.Pos, "%s: %s is too long (allowed: up to %s)", it.key, d, MaxDelay)
		}
		return d
	}
	var lossModel *item
	for i := range fields {
		f := &fields[i]
		it := item{key: f.Key, path: f.Key, v: &f.Value}
		at[f.Key] = f.KeyPos
		switch f.Key {
		case "delay":
			c.Delay = duration(it)
		case "jitter":
			c.Jitter = duration(it)
		case "correlation":
			c.DelayCorrelation = percent(it)
		case "distribution":
			if name, t, ok := p.distribution(it); ok {
				c.DistributionName, c.Distribution = name, t
			}
		case "loss":
			c.Loss = RandomLoss(percent(it), 0)
		case "loss-model":
			lossModel = &it
		case "duplicate":
			c.Duplicate = percent(it)
		case "corrupt":
			c.Corrupt = percent(it)
		case "reorder":
			c.Reorder = percent(it)
		case "gap":
			c.Gap = p.intIn(it, 1, math.MaxInt32)
		case "rate":
			c.Rate, _ = parsed(p, it, "a rate", units.ParseRate)
		case "rate-overhead":
			c.Overhead = p.intIn(it, -65535, 65535)
		case "limit":
			c.Limit = p.intIn(it, 1, math.MaxInt32)
		case "limit-bytes":
			n, ok := parsed(p, it, "a size", units.ParseSize)
			if ok && n == 0 {
				p.errorf(it.path, it.v.Pos, "limit-bytes: must be more than 0")
			}
			c.LimitBytes = int(min(n, math.MaxInt))
		case "ecn":
			c.ECN = p.boolean(it)
		case "codel":
			c.CoDel = p.boolean(it)
		case "seed":
			c.Seed = p.seed(it)
		case "order":
			c.Order, _ = parsed(p, it, "netem or keep", parseOrder)
		case "drop-every":
			c.DropEveryNth, _ = p.frameNumber(it, "frames N, 2N, 3N... are dropped; leave drop-every out for none")
		case "drop-packets":
			c.DropPackets = p.dropPackets(it)
		case "drop-match":
			c.DropMatch = p.dropMatch(it)
		case "outage":
			c.Outage = p.outage(it, ctx)
		}
	}
	if lossModel != nil {
		p.lossModel(*lossModel, at, &c.Loss, ctx)
	}
	combo := func(key string, bad bool, format string) {
		if pos, ok := at[key]; ok && bad {
			p.errorf(key, pos, "%s: "+format, ctx)
		}
	}
	combo("jitter", c.Delay == 0 && c.Jitter > 0, "jitter needs delay (jitter spreads the delay around its value)")
	combo("correlation", c.Jitter == 0, "correlation needs jitter (it correlates successive delays)")
	combo("distribution", c.DistributionName != "" && c.Jitter == 0, "distribution needs delay and jitter")
	if c.Jitter > 0 && c.DistributionName == "" {
		c.DistributionName = "uniform"
	}
	combo("reorder", c.Reorder > 0 && c.Delay == 0, "reorder needs delay (reordered frames are those sent without it, as in netem)")
	combo("gap", c.Reorder == 0, "gap needs reorder")
	if c.Reorder > 0 && c.Gap == 0 {
		c.Gap = 1
	}
	combo("ecn", c.ECN && c.Loss.Model == NoLoss && !c.CoDel, "ecn needs loss or codel (it marks the frames that would be dropped)")
	combo("codel", c.CoDel && c.Rate == 0, "codel needs rate (it manages the queue in front of the link rate)")
	combo("rate-overhead", c.Rate == 0, "rate-overhead needs rate")
	_, hasLimit := at["limit"]
	_, hasBytes := at["limit-bytes"]
	if !hasLimit && !hasBytes {
		c.Limit = DefaultLimit
	}
	if len(p.errs) == 0 {
		// The checks above are the engine's, with positions; this one
		// catches any they miss.
		if err := c.Validate(); err != nil {
			p.errorf("", v.Pos, "%s: %s", ctx, strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	return c
}

// parseOrder reads an order policy: netem or keep.
func parseOrder(v string) (Order, error) {
	switch v {
	case "netem":
		return ReorderLikeNetem, nil
	case "keep":
		return KeepOrder, nil
	}
	if sug := suggest.Closest(v, []string{"netem", "keep"}); sug != "" {
		return 0, fmt.Errorf("unknown order %q; did you mean %q? (allowed: netem, where jitter may reorder frames, or keep)", v, sug)
	}
	return 0, fmt.Errorf("unknown order %q (allowed: netem, where jitter may reorder frames, or keep)", v)
}

// distribution reads a jitter distribution: a built-in one, an iproute2
// table name, or the path of a .dist file, the last two through LoadTable.
func (p *parser) distribution(it item) (string, DistTable, bool) {
	v, ok := p.scalar(it, "a distribution")
	if !ok {
		return "", nil, false
	}
	if t, err := NamedTable(v); err == nil && v != "" {
		return v, t, true
	}
	if !strings.HasSuffix(v, ".dist") && !tableName(v) {
		p.errorf(it.path, it.v.Pos, "%s: bad distribution %q (allowed: uniform, normal, pareto, paretonormal, an iproute2 table name, or the path of a .dist file)", it.key, v)
		return "", nil, false
	}
	if p.o.LoadTable == nil {
		p.errorf(it.path, it.v.Pos, "%s: %q: only the built-in distributions can be used here (uniform, normal, pareto, paretonormal)", it.key, v)
		return "", nil, false
	}
	t, name, err := p.o.LoadTable(v)
	if err == nil {
		err = t.Validate()
	}
	if err != nil {
		p.errorf(it.path, it.v.Pos, "%s: %s", it.key, strings.TrimPrefix(err.Error(), "impair: "))
		return "", nil, false
	}
	return name, t, true
}

// tableName reports whether v can name an iproute2 table: letters,
// digits, '_' and '-', starting with a letter or digit, at most 64 bytes.
func tableName(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for i, r := range v {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || r != '_' && r != '-') {
			return false
		}
	}
	return true
}

// frameNumber reads it as a frame number or count: an integer from 1. why
// ends the message for a smaller one.
func (p *parser) frameNumber(it item, why string) (uint64, bool) {
	n, ok := p.integer(it, math.MinInt64, math.MaxInt64)
	if !ok {
		return 0, false
	}
	if n < 1 {
		p.errorf(it.path, it.v.Pos, "%s %d: must be at least 1 (%s)", it.key, n, why)
		return 0, false
	}
	return uint64(n), true
}

// dropPackets reads drop-packets: a list of frame numbers, each once.
func (p *parser) dropPackets(it item) []uint64 {
	var out []uint64
	first := map[uint64]int{}
	items := p.list(it)
	for i, el := range items {
		n, ok := p.frameNumber(el, "frames are numbered from 1, the first frame sent")
		if !ok {
			continue
		}
		if j, dup := first[n]; dup {
			where := fmt.Sprintf("item %d", j+1)
			if pos := items[j].v.Pos; pos.Line > 0 {
				where = pos.String()
			}
			p.errorf(el.path, el.v.Pos, "drop-packets: frame %d is listed twice (first at %s)", n, where)
			continue
		}
		first[n] = i
		out = append(out, n)
	}
	return out
}

// matchWords lists the words of ParseMatch, for messages.
const matchWords = "words tcp, udp, icmp, proto=N, syn, fin, rst, psh, ack, urg, ece, cwr, !flag, " +
	"pure-ack, data, seq=N, ack=N, sport=N, dport=N, first, nth=N, skip=N, count=N, any; e.g. \"syn first\""

// dropMatch reads drop-match: a list of match strings, each read by
// ParseMatch.
func (p *parser) dropMatch(it item) []Match {
	var out []Match
	for _, el := range p.list(it) {
		s, ok := p.scalar(el, "a list of match strings like \"syn first\"")
		if !ok {
			continue
		}
		m, err := ParseMatch(s)
		if err != nil {
			// ParseMatch's messages name the match again ("impair: match
			// \"seq=x\": ..."): keep only what the message does not say.
			msg := strings.TrimPrefix(err.Error(), "impair: ")
			msg = strings.TrimPrefix(msg, fmt.Sprintf("match %q: ", s))
			msg = strings.TrimPrefix(msg, "match: ")
			msg = strings.TrimPrefix(msg, "match ")
			p.errorf(el.path, el.v.Pos, "drop-match %q: %s (allowed: %s)", s, msg, matchWords)
			continue
		}
		out = append(out, m)
	}
	return out
}

// outage reads outage: {every, for, offset}.
func (p *parser) outage(it item, ctx string) Outage {
	ctx += ".outage"
	const example = "e.g. {every: 10s, for: 2s}"
	fields := p.object(it.v, it.path, ctx, outageKeys)
	if it.v.Kind != KindNull && it.v.Kind != KindMap {
		return Outage{} // reported by object
	}
	type val struct {
		d   time.Duration
		pos Pos
		at  string
	}
	vals := map[string]val{}
	ok := true
	for i := range fields {
		f := &fields[i]
		el := item{key: f.Key, path: join(it.path, f.Key), v: &f.Value}
		d, good := parsed(p, el, "a duration", units.ParseDuration)
		if good && d > MaxDelay {
			p.errorf(el.path, el.v.Pos, "%s: %s %s is too long (allowed: up to %s)", ctx, f.Key, d, MaxDelay)
			good = false
		}
		if !good {
			ok = false
			continue
		}
		vals[f.Key] = val{d, f.Value.Pos, el.path}
	}
	if !ok {
		return Outage{}
	}
	every, hasEvery := vals["every"]
	dur, hasFor := vals["for"]
	switch {
	case !hasEvery || !hasFor:
		var missing []string
		if !hasEvery {
			missing = append(missing, "every")
		}
		if !hasFor {
			missing = append(missing, "for")
		}
		p.errorf(it.path, it.v.Pos, "%s: needs %s (down for `for` out of every `every`, %s)", ctx, strings.Join(missing, " and "), example)
		return Outage{}
	case dur.d == 0:
		p.errorf(dur.at, dur.pos, "%s: for must be more than 0 (leave outage out for none)", ctx)
		return Outage{}
	case dur.d >= every.d:
		p.errorf(dur.at, dur.pos, "%s: for %s must be shorter than every %s (down for `for` out of every `every`, %s)", ctx, dur.d, every.d, example)
		return Outage{}
	}
	return Outage{Every: every.d, For: dur.d, Offset: vals["offset"].d}
}

// lossModel reads loss-model: random (with loss), or a mapping with a
// model and its parameters; iproute2's defaults (StateLoss, GELoss) fill
// in the parameters left out.
func (p *parser) lossModel(it item, at map[string]Pos, l *Loss, ctx string) {
	ctx += ".loss-model"
	n := it.v
	if n.Kind == KindScalar {
		if n.Text != LossRandom.String() {
			p.errorf(it.path, n.Pos, "%s: %q needs its parameters, e.g. {model: gemodel, p: 1%%, r: 10%%} (allowed as a plain value: random)", ctx, n.Text)
			return
		}
		if l.Model == NoLoss {
			p.errorf(it.path, n.Pos, "%s: random needs loss, e.g. loss: 2%%", ctx)
		}
		return
	}
	fields := p.object(n, it.path, ctx, lossModelKeys)
	params := map[string]item{}
	model := ""
	for i := range fields {
		f := &fields[i]
		el := item{key: f.Key, path: join(it.path, f.Key), v: &f.Value}
		if f.Key == "model" {
			if s, ok := p.scalar(el, "a string"); ok {
				model = s
			}
			continue
		}
		params[f.Key] = el
	}
	allowed := map[string][]string{
		LossRandom.String(): nil,
		LossState.String():  {"p13", "p31", "p32", "p23", "p14"},
		LossGE.String():     {"p", "r", "1-h", "1-k"},
	}
	keys, known := allowed[model]
	switch {
	case model == "" && n.Kind == KindMap:
		p.errorf(it.path, n.Pos, "%s: needs model (allowed: random, state, gemodel)", ctx)
		return
	case !known:
		if model != "" {
			p.errorf(it.path, n.Pos, "%s: unknown model %q (allowed: random, state, gemodel)", ctx, model)
		}
		return
	}
	for i := range fields {
		f := &fields[i]
		if f.Key != "model" && !slices.Contains(keys, f.Key) {
			p.errorf(join(it.path, f.Key), f.KeyPos, "%s: %s is not a parameter of model %s (allowed: %s)", ctx, f.Key, model, strings.Join(keys, ", "))
		}
	}
	get := func(k string) (float64, bool) {
		el, ok := params[k]
		if !ok || !slices.Contains(keys, k) {
			return 0, false
		}
		return parsed(p, el, "a percentage", units.ParsePercent)
	}
	// need reads the parameter a model cannot do without.
	need := func(k string) float64 {
		v, ok := get(k)
		if _, given := params[k]; !ok && !given {
			p.errorf(it.path, n.Pos, "%s: %s needs %s", ctx, model, k)
		}
		return v
	}
	set := func(k string, dst *float64) {
		if v, ok := get(k); ok {
			*dst = v
		}
	}
	switch model {
	case LossRandom.String():
		if l.Model == NoLoss {
			p.errorf(it.path, n.Pos, "%s: random needs loss, e.g. loss: 2%%", ctx)
		}
		return
	case LossState.String():
		*l = StateLoss(need("p13"))
		set("p31", &l.P31)
		set("p32", &l.P32)
		set("p23", &l.P23)
		set("p14", &l.P14)
		// Each state's transition probabilities leave room for staying.
		if l.P13+l.P14 > 1+probSlack {
			p.errorf(it.path, n.Pos, "%s: p13 + p14 = %s exceeds 100%% (state 1 moves to 3 or 4, or stays)", ctx, pctText(l.P13+l.P14))
		}
		if l.P31+l.P32 > 1+probSlack {
			p.errorf(it.path, n.Pos, "%s: p31 + p32 = %s exceeds 100%% (state 3 moves to 1 or 2, or stays; p31 is 100%% - p13 unless given)", ctx, pctText(l.P31+l.P32))
		}
	case LossGE.String():
		*l = GELoss(need("p"))
		set("r", &l.R)
		set("1-h", &l.OneMinusH)
		set("1-k", &l.OneMinusK)
	}
	if pos, ok := at["loss"]; ok {
		p.errorf("loss", pos, "%s: loss is the random model's probability; with model %s leave it out", ctx, model)
	}
}

// pctText writes a fraction as a percentage: 0.02 is "2%".
func pctText(f float64) string { return strconv.FormatFloat(f*100, 'g', -1, 64) + "%" }

// String writes c in netem's words, leaving out what does nothing, the
// default queue limit and the seed: "delay 20ms loss 2%". What netem lacks
// follows in the same manner: "order keep drop every 10 drop packets 3,7
// drop-match syn first outage 2s every 10s" (one drop-match per match). A
// nil Config is "".
func (c *Config) String() string {
	if c == nil {
		return ""
	}
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	pct := pctText
	withCor := func(word string, p, cor float64) {
		if cor > 0 {
			add("%s %s %s", word, pct(p), pct(cor))
		} else {
			add("%s %s", word, pct(p))
		}
	}
	if c.Delay > 0 {
		add("delay %s", c.Delay)
		if c.Jitter > 0 {
			add("%s", c.Jitter)
			if c.DelayCorrelation > 0 {
				add("%s", pct(c.DelayCorrelation))
			}
			switch name := c.DistributionName; {
			case name != "" && name != "uniform":
				add("distribution %s", name)
			case name == "" && c.Distribution != nil:
				add("distribution table")
			}
		}
	}
	switch l := c.Loss; l.Model {
	case LossRandom:
		withCor("loss", l.P, l.Correlation)
	case LossState:
		add("loss state %s %s %s %s %s", pct(l.P13), pct(l.P31), pct(l.P32), pct(l.P23), pct(l.P14))
	case LossGE:
		add("loss gemodel %s %s %s %s", pct(l.P), pct(l.R), pct(l.OneMinusH), pct(l.OneMinusK))
	}
	if c.Duplicate > 0 {
		withCor("duplicate", c.Duplicate, c.DuplicateCorrelation)
	}
	if c.Corrupt > 0 {
		withCor("corrupt", c.Corrupt, c.CorruptCorrelation)
	}
	if c.Reorder > 0 || c.Gap > 0 {
		r := c.Reorder
		if r == 0 {
			r = 1 // tc: gap alone means reorder 100%
		}
		withCor("reorder", r, c.ReorderCorrelation)
		if c.Gap > 0 {
			add("gap %d", c.Gap)
		}
	}
	if c.Rate > 0 {
		add("rate %s", units.FormatRate(c.Rate))
		if c.Overhead != 0 || c.CellSize > 0 {
			add("%d", c.Overhead)
		}
		if c.CellSize > 0 {
			add("%d %d", c.CellSize, c.CellOverhead)
		}
	}
	if c.ECN {
		add("ecn")
	}
	if c.CoDel {
		add("codel")
		if c.CoDelTarget > 0 {
			add("target %s", c.CoDelTarget)
		}
		if c.CoDelInterval > 0 {
			add("interval %s", c.CoDelInterval)
		}
	}
	if c.Limit != DefaultLimit && c.Limit > 0 {
		add("limit %d", c.Limit)
	}
	if c.LimitBytes > 0 {
		add("limit-bytes %d", c.LimitBytes)
	}
	if c.Order == KeepOrder {
		add("order keep")
	}
	if c.DropEveryNth > 0 {
		add("drop every %d", c.DropEveryNth)
	}
	if len(c.DropPackets) > 0 {
		nums := make([]string, len(c.DropPackets))
		for i, n := range c.DropPackets {
			nums[i] = strconv.FormatUint(n, 10)
		}
		add("drop packets %s", strings.Join(nums, ","))
	}
	for _, m := range c.DropMatch {
		add("drop-match %s", m)
	}
	if o := c.Outage; o.For > 0 {
		add("outage %s every %s", o.For, o.Every)
		if o.Offset > 0 {
			add("offset %s", o.Offset)
		}
	}
	if c.Down {
		add("down")
	}
	return strings.Join(parts, " ")
}

package topology

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a topology file, at a position.
type Error struct {
	// File is the file's name as given to Load or Parse.
	File string `json:"file"`
	// Line is 1-based; 0 for a problem of the whole file.
	Line int `json:"line"`
	// Col is 1-based, in bytes; 0 with Line.
	Col int `json:"col"`
	// Msg says what is wrong and what is allowed.
	Msg string `json:"msg"`
}

// Error formats e as "file:line:col: msg".
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// ErrorList is every problem found in a file, sorted by position. Load and
// Parse return one (as an error) when the file is not valid.
type ErrorList []*Error

// Error formats the list one error a line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Errors returns the errors, sorted by position.
func (l ErrorList) Errors() []*Error { return slices.Clone(l) }

// Unwrap returns the errors, so errors.As can find an *Error.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// diag collects the errors and warnings of one Parse.
type diag struct {
	file  string
	errs  []*Error
	warns []*Error
}

func (d *diag) errorf(p Pos, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)})
}

func (d *diag) warnf(p Pos, format string, args ...any) {
	d.warns = append(d.warns, &Error{File: d.file, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)})
}

// failed reports whether an error was found.
func (d *diag) failed() bool { return len(d.errs) > 0 }

// err returns the errors as an ErrorList, or nil.
func (d *diag) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	return ErrorList(sortErrors(d.errs))
}

// sortErrors sorts by position then message and drops exact duplicates (a
// bad value in `defaults:` is found once per node that inherits it).
func sortErrors(errs []*Error) []*Error {
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col), strings.Compare(a.Msg, b.Msg))
	})
	return slices.CompactFunc(errs, func(a, b *Error) bool { return *a == *b })
}

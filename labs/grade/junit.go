package grade

import (
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The JUnit XML written by WriteJUnit, in the shape of the Surefire
// junit-10.xsd that pytest validates against; encoding/xml escapes every
// text and attribute, and turns characters XML cannot hold into U+FFFD.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr,omitempty"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
		SystemOut  xmlText         `xml:"system-out,omitempty"`
	}
	junitProps struct {
		List []junitProperty `xml:"property"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name       string        `xml:"name,attr"`
		Classname  string        `xml:"classname,attr"`
		Time       string        `xml:"time,attr"`
		Properties *junitProps   `xml:"properties,omitempty"`
		Failure    *junitProblem `xml:"failure"`
		Error      *junitProblem `xml:"error"`
		Skipped    *junitProblem `xml:"skipped"`
		SystemOut  xmlText       `xml:"system-out,omitempty"`
	}
	// junitProblem is a failure, error or skipped element.
	junitProblem struct {
		Message string
		Type    string
		Text    string
	}
)

// xmlText is an element's text, written with its newlines as they are
// (encoding/xml writes a string field's as &#xA;).
type xmlText string

// MarshalXML writes t as the text of start.
func (t xmlText) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return writeElement(e, start, string(t))
}

// MarshalXML writes p as start with message and type attributes.
func (p junitProblem) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "message"}, Value: p.Message})
	if p.Type != "" {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "type"}, Value: p.Type})
	}
	return writeElement(e, start, p.Text)
}

// writeElement writes start, text and the end of start; the encoder
// escapes text and turns what XML cannot hold into U+FFFD.
func writeElement(e *xml.Encoder, start xml.StartElement, text string) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if text != "" {
		if err := e.EncodeToken(xml.CharData(text)); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// WriteJUnit writes r as JUnit XML: one testsuite named after the lab,
// with the lab, version, seed, student, score and max_score (and the
// variant) as properties; one testcase per check, classname the lab, with
// its points as testcase properties (number, points, max_points,
// visibility), a failure for a failed check, an error for one that could
// not be run (their text: the output, the last events, the plot), skipped
// for one whose prerequisite did not pass; a passed or skipped check's
// output is its system-out. A report whose grade does not stand for a reason
// no check carries (the lab did not deploy, no check was run) gets one
// more testcase, "grading", holding that error. The scenario's output is
// the suite's system-out.
func WriteJUnit(w io.Writer, r *Report) error {
	earned, total := r.Score()
	suite := junitSuite{
		Name: r.Lab,
		Time: fmt.Sprintf("%.3f", seconds(r.Duration)),
		Properties: []junitProperty{
			{"lab", r.Lab}, {"title", r.Title}, {"version", r.Version},
			{"seed", strconv.FormatUint(r.Seed, 10)}, {"student", r.Student},
			{"score", fmtPoints(earned)}, {"max_score", fmtPoints(total)},
			{"submission", r.Submission}, {"run_digest", r.RunDigest},
		},
		SystemOut: xmlText(r.Stdout),
	}
	if suite.Name == "" {
		suite.Name = "lab"
	}
	if !r.Started.IsZero() {
		suite.Timestamp = r.Started.UTC().Format("2006-01-02T15:04:05")
	}
	for _, k := range slices.Sorted(maps.Keys(r.Variant)) {
		suite.Properties = append(suite.Properties, junitProperty{"variant." + k, r.Variant[k]})
	}
	if p := r.Problem(); p != "" {
		suite.Properties = append(suite.Properties, junitProperty{"problem", p})
	}
	if r.Error != "" || len(r.Results) == 0 {
		msg := r.Error
		if msg == "" {
			msg = "no check was run"
		}
		suite.Cases = append(suite.Cases, junitCase{
			Name: "grading", Classname: suite.Name, Time: suite.Time,
			Error: &junitProblem{Message: firstLine(msg), Type: "infrastructure", Text: msg},
		})
		suite.Errors++
	}
	for _, res := range r.Results {
		st, bad := res.status()
		c := junitCase{
			Name:      res.Name,
			Classname: suite.Name,
			Time:      fmt.Sprintf("%.3f", seconds(res.Duration)),
			Properties: &junitProps{[]junitProperty{
				{"number", res.Number}, {"points", fmtPoints(res.earned())},
				{"max_points", fmtPoints(res.MaxPoints)}, {"visibility", string(res.Visibility.norm())},
			}},
		}
		for _, t := range res.Tags {
			c.Properties.List = append(c.Properties.List, junitProperty{"tag", t})
		}
		body := strings.TrimSpace(res.Output)
		if len(res.Context) > 0 {
			body = strings.TrimSpace(body + "\n\nthe last events:\n" + strings.Join(res.Context, "\n"))
		}
		if res.Plot != "" {
			body = strings.TrimSpace(body + "\n\nplot: " + res.Plot)
		}
		switch st {
		case StatusFailed:
			c.Failure = &junitProblem{Message: firstLine(res.Output), Type: "failed", Text: body}
			suite.Failures++
		case StatusSkipped:
			c.Skipped = &junitProblem{Message: r.why(res, false)}
			suite.Skipped++
		case StatusError:
			typ, msg := "infrastructure", firstLine(res.Output)
			if bad != "" {
				typ, msg = "internal", bad
			}
			if msg == "" {
				msg = "could not be run"
			}
			c.Error = &junitProblem{Message: msg, Type: typ, Text: body}
			suite.Errors++
		}
		if c.Failure == nil && c.Error == nil {
			c.SystemOut = xmlText(body) // else the failure or error holds it
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{
		Name: suite.Name, Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Skipped: suite.Skipped, Time: suite.Time, Suites: []junitSuite{suite},
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("write JUnit XML for %s: %w", r.Lab, err)
	}
	if _, err := io.WriteString(w, xml.Header+string(out)+"\n"); err != nil {
		return fmt.Errorf("write JUnit XML for %s: %w", r.Lab, err)
	}
	return nil
}

// Package labs reads graded network exercises: a folder per lab, with a
// lab.yml that says what the lab is, what the student submits, what the
// grader does in the lab, and the checks that read what happened on the
// wire. It is the model only: package labs/check holds the checks' vocabulary,
// labs/grade the grades and their formats, labs/runner runs a submission
// in a fresh lab.
//
// # A lab's folder
//
//	labs/01-socket/
//	  lab.yml          what follows
//	  topology.yml     the lab's topology; ${...} are the variant's values
//	  README.md        the student's page; ${...} too
//	  solutions/       a reference solution and wrong ones (lab.yml says
//	                   what each must score)
//
// The course's labs are folders whose names start with a digit; they are
// built into the netlab binary. Labs of one's own are folders anywhere,
// named by path.
//
// # lab.yml
//
//	title: The socket's life
//	summary: socket, bind, listen, accept, connect; the three-way handshake
//	version: 1
//	author: netlab
//	topology: topology.yml        # the default
//	page: README.md               # the default
//	submit: script                # script | answers | none
//	timeout: 2m                   # a grading run's bound (the default)
//	params:                       # each student's variant draws these
//	  port: {range: [5000, 5999]}
//	  delay: {range: [5ms, 25ms], step: 5ms}
//	  loss: {choice: ["1%", "2%"]}
//	steps:                        # what the grader does once the lab runs
//	  - {name: server, serve: {node: h2, port: "${port}"}}
//	  - {name: calls, script: {timeout: 5s}}       # the submission
//	  - {name: send, send: {node: h1, to: "h2:eth1", port: "${port}", bytes: 100KB}}
//	measures:                     # answers labs: the truth, from the run
//	  mss: {mss: {node: h1, side: local}}
//	checks:
//	  - name: The three-way handshake completes
//	    points: 2
//	    handshake: {node: h1, conn: ":${port}"}
//	  - name: No segment is larger than the MSS
//	    points: 1
//	    visibility: hidden         # visible (default), hidden, after_due_date, after_published
//	    requires: [The three-way handshake completes]
//	    within: 5s                 # poll until it passes or this passes
//	    pass: Every segment fits the MSS.
//	    fail: A segment was longer than the MSS the peer announced.
//	    max-segment: {node: h1}
//	solutions:
//	  - {file: solutions/reference.sock, score: full}
//	  - {file: solutions/no-listen.sock, score: 0, fails: [The three-way handshake completes]}
//
// A check names exactly one kind (handshake, max-segment, ... see package
// labs/check) beside the common keys; a step exactly one action (serve,
// send, script, ping, impair, link, wait-state, exec, program, wait, file;
// see package labs/runner) beside name, within and background (exec,
// program, send, script and ping steps: the next step starts at once;
// `wait: {step: NAME}` or the end of the steps waits for it). exec and program steps run in the
// instance's work directory, ${workdir}, which they may write, and a file
// step reports a file there (its size and sha256, for a delivered check);
// a command that prints JSON gives checks its fields (nstat --json). Values
// are scalars, lists of scalars or mappings of scalars; "${name}" in any of
// them, in the topology and in the page is replaced by the variant's value
// of a param, or by lab, version, student, seed (and workdir in steps).
//
// schema/lab.schema.json, written by package labs/schema from the same
// lists, gives editors every key with its doc:
//
//	# yaml-language-server: $schema=../../schema/lab.schema.json
//
// # Variants
//
// A student's variant is drawn from a seed made of the lab's name, its
// version and the student's id (Seed): the params are drawn in file order,
// each from its range (integers, durations or sizes, on a step) or its
// choices. The same student always gets the same variant; another student
// another one, so copied answers are wrong. The topology's own seeds should
// be "${seed}" (lint says so), so that the same variant impairs the same
// way on every run.
//
// # Errors
//
// Load reports every problem of a lab.yml as file:line:col: what is wrong,
// what is allowed.
package labs

# netlab — build, test, benchmark, fuzz, lint.
GO       ?= go
BIN      := bin/netlab
PKGS     := ./...
export CGO_ENABLED := 0

.PHONY: images bench-docker bench-web bench-experiments bench-labs all build test test-short bench fuzz lint cover demo clean

all: build

build: ## the static netlab binary in ./bin
	$(GO) build -trimpath -o $(BIN) ./cmd/netlab

# The Debian-based node images (netlab image list), built on the local
# Docker engine from Debian's packages; each is rebuilt only when its
# recipe changes. Needs root, Docker and debootstrap.
images: build
	$(BIN) image build debian frr nginx iperf3 python

# Every test the project has, under the race detector (the stack, the link
# endpoints and the agent are concurrent). Tests that need root create their
# own namespaces and remove them; as non-root they skip with a message.
test: lint
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 40m $(PKGS)

test-short:
	$(GO) test -short -count=1 $(PKGS)

cover:
	$(GO) test -count=1 -coverprofile=cover.out ./stack/
	$(GO) tool cover -func=cover.out | tail -1

# Benchmarks (BENCHMARKS.md): Go benchmarks of the stack and the
# impairment engine, then the tables measured on veths against Linux
# (root). Deploy/destroy of 10-1000 nodes: go run ./cmd/benchdeploy.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./stack/ ./stack/wire/ ./impair/
	$(GO) run ./cmd/bench
	$(GO) run ./cmd/bench -deployed now=$(BIN) -rounds 3 -bytes 1GB -flow-time 10s
	$(GO) run ./cmd/bench -impair

# One submission of each course lab graded in a fresh instance (the first
# solution lab.yml lists: the reference, or for an answers lab a wrong
# answers file, which costs the same run), one after the other.
bench-labs: build
	@printf '| lab | submission | wall time |\n|---|---|---:|\n'
	@for d in labs/0*/; do \
	  f=$$(grep -o 'file: solutions/[^,}]*' $$d/lab.yml | head -1 | cut -d' ' -f2); \
	  s=$$(date +%s.%N); $(BIN) lab check $$d --student alice --submission $$d$$f >/dev/null 2>&1; rc=$$?; \
	  e=$$(date +%s.%N); \
	  printf '| %s | %s (exit %d) | %.1f s |\n' $$(basename $$d) $$f $$rc $$(awk "BEGIN{print $$e - $$s}"); \
	done

# The load experiments of BENCHMARKS.md §7, one after the other (about an
# hour on 2 cores): results in bench-results/NAME, a report.md each, and
# the Go stack against the kernel's side by side in bench-results/cc-compare.md.
EXPERIMENTS ?= fabric-1000 incast-64 cc-go cc-linux
bench-experiments: build
	@mkdir -p bench-results
	@for x in $(EXPERIMENTS); do \
	  rm -rf bench-results/$$x; s=$$(date +%s); \
	  $(BIN) experiment run examples/experiments/$$x.yml -o bench-results/$$x || exit 1; \
	  echo "$$x: $$(( $$(date +%s) - s )) s, bench-results/$$x/report.md"; \
	done
	@if [ -d bench-results/cc-go ]; then \
	  rm -rf bench-results/cc-go-virtual; s=$$(date +%s); \
	  $(BIN) experiment run examples/experiments/cc-go.yml --clock virtual -o bench-results/cc-go-virtual || exit 1; \
	  echo "cc-go on the virtual clock: $$(( $$(date +%s) - s )) s"; \
	  $(BIN) experiment compare bench-results/cc-go bench-results/cc-go-virtual \
	    --metric goodput,jain,rtt_p50,retrans_rate > bench-results/cc-virtual-compare.md; \
	  echo "bench-results/cc-virtual-compare.md"; fi
	@if [ -d bench-results/cc-go ] && [ -d bench-results/cc-linux ]; then \
	  $(BIN) experiment compare bench-results/cc-go bench-results/cc-linux \
	    --metric goodput,utilisation,jain,rtt_p50,rtt_p99,queue_delay_mean,retrans_rate,agent_cpu > bench-results/cc-compare.md; \
	  echo "bench-results/cc-compare.md"; fi

# Each fuzz target for FUZZTIME (default 60 s).
FUZZTIME ?= 60s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep ^Fuzz); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# The README's first command: deploy the two-host example on the netns
# runtime, send 10 MB through the Go stack, print goodput and
# retransmissions, and destroy the lab (also when a step fails).
DEMO_TOPO := examples/two-hosts.yml
demo: build
	@set -e; trap './$(BIN) destroy -t $(DEMO_TOPO) --cleanup >/dev/null 2>&1 || true' EXIT; \
	./$(BIN) deploy -t $(DEMO_TOPO) --reconfigure; \
	./$(BIN) tcp serve h2 --port 5001 -t $(DEMO_TOPO); \
	./$(BIN) tcp send h1 --to 10.0.0.1:5001 --bytes 10MB -t $(DEMO_TOPO); \
	./$(BIN) sockets h1 -t $(DEMO_TOPO); \
	./$(BIN) destroy -t $(DEMO_TOPO) --cleanup

clean:
	rm -rf bin cover.out

# Docker deploy/destroy (BENCHMARKS.md, docker runtime): generated line labs
# of 10, 50 and 100 nodes of netlab's own image, and of 50 nodes of a user
# image (the Debian base, kind: linux, the kernel's stack and routes); the
# floor beside them: the same number of containers of that image started
# and removed by the docker CLI alone (no wiring, no agent). Root, Docker.
bench-docker: build
	@$(BIN) image build debian >/dev/null
	@d=$$(mktemp -d); trap 'rm -rf $$d' EXIT; \
	printf '| nodes | image | deploy | destroy |\n|---:|---|---:|---:|\n'; \
	for n in 10 50 100 u50; do \
	  k=$${n#u}; $(BIN) gen line --routers $$((k-2)) --hosts 1 --name dk$$n -o $$d/dk$$n.yml >/dev/null; img="netlab/node (own)"; \
	  if [ "$$n" != "$$k" ]; then img="netlab/debian (user, kind: linux)"; \
	    sed -i -e 's/{kind: router,/{kind: linux, forwarding: true, image: netlab\/debian,/' -e 's/{kind: host,/{kind: linux, image: netlab\/debian,/' $$d/dk$$n.yml; fi; \
	  t0=$$(date +%s.%N); $(BIN) deploy -t $$d/dk$$n.yml --runtime docker >/dev/null || exit 1; t1=$$(date +%s.%N); \
	  $(BIN) destroy -t $$d/dk$$n.yml --cleanup >/dev/null || exit 1; t2=$$(date +%s.%N); \
	  printf '| %s | %s | %.1f s | %.1f s |\n' $$k "$$img" $$(awk "BEGIN{print $$t1-$$t0}") $$(awk "BEGIN{print $$t2-$$t1}"); \
	done; \
	t0=$$(date +%s.%N); for i in $$(seq 50); do docker run -d -i --network none --label netlab-bench=floor --name nlfloor$$i netlab/debian >/dev/null || exit 1; done; t1=$$(date +%s.%N); \
	docker rm -f $$(docker ps -aq --filter label=netlab-bench=floor) >/dev/null; t2=$$(date +%s.%N); \
	printf '| 50 | netlab/debian, docker run/rm alone (floor) | %.1f s | %.1f s |\n' $$(awk "BEGIN{print $$t1-$$t0}") $$(awk "BEGIN{print $$t2-$$t1}")

# netlab web on a 212-node leaf-spine with 100 connections streaming
# (BENCHMARKS.md §8): page load, the server's memory and CPU, and the
# lab's goodput with the page open against without it, once with the
# access links within what 2 cores carry (1 Mbit/s each) and once past it
# (5 Mbit/s each: the lab is then bound by the processors, and every
# cycle the page takes is goodput lost). Root and Debian's chromium.
bench-web: build
	$(GO) run ./cmd/benchweb -netlab $(BIN) -rate 1mbit
	$(GO) run ./cmd/benchweb -netlab $(BIN) -rate 5mbit -rounds 6

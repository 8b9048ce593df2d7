# whepd: the targets are the user interface. `make help` lists them.
SHELL := /bin/bash
NODE_BIN := node_modules/.bin
CONFIG ?= configs/demo.json

.PHONY: help run test e2e bench soak build typecheck deps tools clean install

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: deps tools build ## start whepd on the demo stream (fixture media) at http://127.0.0.1:8889
	@echo "whepd: open http://127.0.0.1:8889/play/demo in a browser (WHEP endpoint: http://127.0.0.1:8889/whep/demo)"
	node dist/cmd/whepd/main.js --config $(CONFIG)

test: deps tools ## run the whole test suite (unit + integration with real FFmpeg and WebRTC)
	$(NODE_BIN)/tap

e2e: deps tools build ## end-to-end checks against the real whepd binary (client peer, curl WHEP matrix)
	bash e2e/run.sh

bench: deps tools build ## fan-out benchmark; prints figures
	@if [ -f bench/run.ts ]; then $(NODE_BIN)/tsx bench/run.ts; else echo "no benchmark yet (see issues)"; fi

soak: deps tools build ## soak: 2000 join/leave cycles against the real binary (SOAK_CYCLES=200 is the CI form)
	$(NODE_BIN)/tsx soak/run.ts

build: deps ## compile TypeScript to dist/ (server, then the browser player)
	$(NODE_BIN)/tsc -p tsconfig.json
	$(NODE_BIN)/tsc -p internal/player/client/tsconfig.json

typecheck: deps ## type-check without emitting (server, player, browser, NAT and Firefox e2e, benchmark)
	$(NODE_BIN)/tsc --noEmit -p tsconfig.json
	$(NODE_BIN)/tsc --noEmit -p internal/player/client/tsconfig.json
	$(NODE_BIN)/tsc -p e2e/browser/tsconfig.json
	$(NODE_BIN)/tsc -p e2e/nat/tsconfig.json
	$(NODE_BIN)/tsc -p e2e/firefox/tsconfig.json
	$(NODE_BIN)/tsc -p e2e/turn/tsconfig.json
	$(NODE_BIN)/tsc --noEmit -p bench/tsconfig.json

deps: node_modules/.whepd-deps ## install npm packages (npm ci)

node_modules/.whepd-deps: package.json package-lock.json
	@command -v node >/dev/null || { echo "whepd: Node.js >= 20 is missing. Install it with: sudo apt-get install -y nodejs npm"; exit 1; }
	npm ci --no-audit --no-fund
	$(NODE_BIN)/tap build >/dev/null
	@touch $@

tools: ## install FFmpeg from Debian packages when missing (as root), else say how
	@scripts/ensure-tool.sh ffmpeg ffmpeg
	@scripts/ensure-tool.sh ffprobe ffmpeg

clean: ## remove build output
	rm -rf dist .tap

PREFIX ?= /opt/whepd
UNITDIR ?= /etc/systemd/system
CONFDIR ?= /etc/whepd

install: build ## install the build to $(PREFIX), the systemd unit, and a config if none exists
	install -d $(DESTDIR)$(PREFIX) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(CONFDIR)
	cp -r dist package.json package-lock.json README.md $(DESTDIR)$(PREFIX)/
	cd $(DESTDIR)$(PREFIX) && npm ci --omit=dev --no-audit --no-fund >/dev/null
	install -m 0644 deploy/whepd.service $(DESTDIR)$(UNITDIR)/whepd.service
	@if [ ! -f $(DESTDIR)$(CONFDIR)/config.json ]; then install -m 0644 deploy/config.example.json $(DESTDIR)$(CONFDIR)/config.json; echo "wrote $(DESTDIR)$(CONFDIR)/config.json: edit the streams"; fi
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then systemctl daemon-reload; echo "then: systemctl enable --now whepd"; fi

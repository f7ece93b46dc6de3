#!/usr/bin/env bash
# scripts/deps.sh NAME... installs the tools and servers that Paymon's tests
# and checks need, when they are missing. It is idempotent and quiet: it
# prints one line per thing it installs and nothing when all is in place.
#
# Names:
#   redis           Debian redis-server (apt); tests start their own on free ports
#   ferretdb        ./bin/ferretdb, built from tools/ferretdb (FerretDB v1.24.2, SQLite handler)
#   stripe-mock     ./bin/stripe-mock
#   staticcheck     ./bin/staticcheck
#   actionlint      ./bin/actionlint
#   govulncheck     ./bin/govulncheck (its vulnerability DB is fetched at run time)
#   chromium        Debian chromium (apt), for browser end-to-end tests
#   promtool        Debian prometheus (apt), which provides promtool
#   docker-compose  Debian docker-compose (apt)
#   rsyslog         Debian rsyslog and rsyslog-elasticsearch (apt), for the shipper tests
#   syslog-ng       ./bin/syslog-ng-root: Debian's syslog-ng-core and syslog-ng-mod-http
#                   unpacked, not installed (they conflict with rsyslog, the system daemon
#                   either would be); only their libraries are installed with apt
#   node-shippers   Debian nodejs and npm (apt), and `npm ci` of winston and pino
#                   in internal/shippers/testdata/node (versions pinned by its lock)
#   victorialogs    ./bin/victoria-logs, the peer of the log benchmarks (make bench only)
#   all             everything above
#
# Go tools go into ./bin (ignored by git); Debian packages need root (or sudo).
# A Go tool is reinstalled when its version below changes.
set -euo pipefail

STRIPE_MOCK_VERSION=v0.203.0
STATICCHECK_VERSION=v0.8.2 # honnef.co/go/tools 2026.1.x, builds with Go 1.26
ACTIONLINT_VERSION=v1.7.12
GOVULNCHECK_VERSION=latest
VICTORIALOGS_VERSION=v1.52.1 # keep in step with internal/testenv/victorialogs.go

ALL=(redis ferretdb stripe-mock staticcheck actionlint govulncheck chromium promtool docker-compose rsyslog syslog-ng node-shippers)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="$ROOT/bin"
LOG=$(mktemp "${TMPDIR:-/tmp}/paymon-deps.XXXXXX")
trap 'rm -f "$LOG"' EXIT

say() { printf 'deps: %s\n' "$*"; }
die() {
	printf 'deps: error: %s\n' "$*" >&2
	exit 1
}

# quietly CMD... runs CMD with its output in $LOG, and shows that output
# only when CMD fails.
quietly() {
	if ! "$@" >"$LOG" 2>&1; then
		tail -n 40 "$LOG" >&2
		die "failed: $*"
	fi
}

# ---- Debian packages -------------------------------------------------------

APT_UPDATED=0

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		die "installing Debian packages needs root or sudo; run: $*"
	fi
}

# apt_get ARGS... runs apt-get non-interactively, waiting for the dpkg and
# list locks when another apt/dpkg holds them, and retrying a few times.
apt_get() {
	local try
	for try in 1 2 3 4 5; do
		if as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -y \
			-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 \
			-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
			"$@" >"$LOG" 2>&1; then
			return 0
		fi
		if grep -qiE 'lock|Could not get|Temporary failure|Connection failed' "$LOG" && [ "$try" -lt 5 ]; then
			sleep $((try * 5))
			continue
		fi
		break
	done
	tail -n 40 "$LOG" >&2
	die "apt-get $* failed"
}

# apt_install PKG... installs Debian packages (apt-get update runs once per
# invocation of this script, and only when something is to be installed).
apt_install() {
	command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install $* by hand"
	if [ "$APT_UPDATED" = 0 ]; then
		apt_get update
		APT_UPDATED=1
	fi
	apt_get install --no-install-recommends "$@"
	say "installed $* (apt)"
}

# ---- Go tools --------------------------------------------------------------

# go_tool_version BIN prints the main module version a Go binary was built
# from, or nothing.
go_tool_version() {
	go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

# go_install NAME PKG VERSION installs PKG@VERSION as ./bin/NAME unless a
# binary of that version (any version for "latest") is already there.
go_install() {
	local name=$1 pkg=$2 version=$3
	if [ -x "$BIN/$name" ]; then
		if [ "$version" = latest ] || [ "$(go_tool_version "$BIN/$name")" = "$version" ]; then
			return 0
		fi
	fi
	mkdir -p "$BIN"
	quietly env GOBIN="$BIN" GOWORK=off go install "$pkg@$version"
	say "installed $name $(go_tool_version "$BIN/$name") into bin/"
}

build_ferretdb() {
	local src="$ROOT/tools/ferretdb" out="$BIN/ferretdb"
	[ -f "$src/go.mod" ] || die "missing $src/go.mod"
	if [ -x "$out" ] && [ -z "$(find "$src" -type f -newer "$out" -print -quit)" ]; then
		return 0
	fi
	mkdir -p "$BIN"
	# Build to a temporary name first so that an interrupted build never
	# leaves a half-written ./bin/ferretdb behind.
	(cd "$src" && quietly env GOWORK=off GOFLAGS=-mod=readonly go build -buildvcs=false -o "$out.tmp" .)
	mv -f "$out.tmp" "$out"
	say "built bin/ferretdb (FerretDB $(go version -m "$out" | awk '$2 == "github.com/FerretDB/FerretDB" { print $3; exit }'))"
}

# unpack_syslog_ng extracts syslog-ng 3.38 and its http() module into
# ./bin/syslog-ng-root without installing them: syslog-ng-core conflicts
# with rsyslog, as each is a system syslog daemon. The libraries they link
# against do not conflict and are installed with apt.
unpack_syslog_ng() {
	local root="$BIN/syslog-ng-root" tmp deb missing=() p
	if [ -x "$root/usr/sbin/syslog-ng" ] && [ -e "$root/usr/lib/syslog-ng/3.38/libhttp.so" ]; then
		return 0
	fi
	for p in libivykis0 libnet1 libpcre3 libwrap0 libjson-c5 libcurl4 libglib2.0-0; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		apt_install "${missing[@]}"
	elif [ "$APT_UPDATED" = 0 ] && ! apt-cache show syslog-ng-core >/dev/null 2>&1; then
		apt_get update
		APT_UPDATED=1
	fi
	tmp=$(mktemp -d)
	(cd "$tmp" && quietly apt-get download syslog-ng-core syslog-ng-mod-http)
	rm -rf "$root.tmp"
	mkdir -p "$root.tmp"
	for deb in "$tmp"/*.deb; do
		quietly dpkg -x "$deb" "$root.tmp"
	done
	rm -rf "$tmp" "$root"
	mv "$root.tmp" "$root"
	say "unpacked syslog-ng $(LD_LIBRARY_PATH="$root/usr/lib/syslog-ng" "$root/usr/sbin/syslog-ng" --version 2>/dev/null | awk 'NR == 1 { gsub(/[()]/, "", $3); print $3 }') into bin/syslog-ng-root"
}

need_go() {
	command -v go >/dev/null 2>&1 || die "go not found in PATH"
}

# npm_ci DIR installs DIR's locked npm packages when node_modules is
# missing or older than package-lock.json.
npm_ci() {
	local dir=$1
	if [ -f "$dir/node_modules/.package-lock.json" ] && [ ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
		return 0
	fi
	(cd "$dir" && quietly npm ci --no-audit --no-fund)
	say "installed the npm packages of ${dir#"$ROOT"/} (npm ci)"
}

# ---- main ------------------------------------------------------------------

install_one() {
	case $1 in
	redis)
		command -v redis-server >/dev/null 2>&1 || apt_install redis-server
		;;
	ferretdb)
		need_go
		build_ferretdb
		;;
	stripe-mock)
		need_go
		go_install stripe-mock github.com/stripe/stripe-mock "$STRIPE_MOCK_VERSION"
		;;
	staticcheck)
		need_go
		go_install staticcheck honnef.co/go/tools/cmd/staticcheck "$STATICCHECK_VERSION"
		;;
	actionlint)
		need_go
		go_install actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION"
		;;
	govulncheck)
		need_go
		go_install govulncheck golang.org/x/vuln/cmd/govulncheck "$GOVULNCHECK_VERSION"
		;;
	chromium)
		[ -x /usr/bin/chromium ] || apt_install chromium
		;;
	promtool)
		command -v promtool >/dev/null 2>&1 || apt_install prometheus
		;;
	victorialogs)
		need_go
		go_install victoria-logs github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs "$VICTORIALOGS_VERSION"
		;;
	docker-compose)
		command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
		;;
	rsyslog)
		# omelasticsearch is its own package; rsyslogd alone is not enough.
		if ! command -v rsyslogd >/dev/null 2>&1 || ! dpkg-query -W -f='${Status}' rsyslog-elasticsearch 2>/dev/null | grep -q 'ok installed'; then
			apt_install rsyslog rsyslog-elasticsearch
		fi
		;;
	syslog-ng)
		unpack_syslog_ng
		;;
	node-shippers)
		command -v node >/dev/null 2>&1 || apt_install nodejs
		command -v npm >/dev/null 2>&1 || apt_install npm
		npm_ci "$ROOT/internal/shippers/testdata/node"
		;;
	*)
		die "unknown dependency '$1' (known: ${ALL[*]} all)"
		;;
	esac
}

main() {
	if [ $# -eq 0 ]; then
		sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
		exit 2
	fi
	cd "$ROOT"
	local names=() n
	for n in "$@"; do
		if [ "$n" = all ]; then
			names+=("${ALL[@]}")
		else
			names+=("$n")
		fi
	done
	for n in "${names[@]}"; do
		install_one "$n"
	done
}

main "$@"

#!/usr/bin/env bash
# Validates the deployment assets. Run from anywhere:
#   scripts/check-deploy.sh
# Needs (not installed here): bin/actionlint (or actionlint on PATH),
# promtool, docker-compose (or `docker compose`), go.
#   GOBIN=$PWD/bin go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
#   apt-get install -y prometheus docker-compose
# Every check runs even if an earlier one failed; the exit status is
# non-zero if any failed.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1

failed=()
passed=()

# step NAME DISPLAY CMD...: prints NAME and the command line DISPLAY, runs CMD.
step() {
	local name="$1" display="$2"
	shift 2
	printf '\n==> %s\n    $ %s\n' "$name" "$display"
	if "$@"; then
		printf -- '--> ok: %s\n' "$name"
		passed+=("$name")
	else
		printf -- '--> FAILED: %s\n' "$name"
		failed+=("$name")
	fi
}

# Tools
actionlint_bin="$root/bin/actionlint"
[ -x "$actionlint_bin" ] || actionlint_bin="$(command -v actionlint || true)"
if command -v docker-compose >/dev/null 2>&1; then
	compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
	compose=(docker compose)
else
	compose=()
fi

run_actionlint() {
	if [ -z "$actionlint_bin" ]; then
		echo "actionlint not found (bin/actionlint or PATH)" >&2
		return 1
	fi
	"$actionlint_bin" -no-color .github/workflows/*.yml
}

# compose.yaml reads deploy/.env; check it against a temporary copy of
# .env.example so a real deploy/.env is neither needed nor touched.
run_compose_config() {
	if [ ${#compose[@]} -eq 0 ]; then
		echo "neither docker-compose nor 'docker compose' found" >&2
		return 1
	fi
	local env_file rc
	env_file="$(mktemp)"
	cp deploy/.env.example "$env_file"
	ENV_FILE="$env_file" "${compose[@]}" --env-file "$env_file" -f deploy/compose.yaml config -q
	rc=$?
	rm -f "$env_file"
	return $rc
}

run_go_tests() {
	(cd deploy/check && go test -count=1 ./...)
}

step "actionlint" \
	"${actionlint_bin:-actionlint} -no-color .github/workflows/*.yml" run_actionlint
step "compose config" \
	"cp deploy/.env.example \$tmp; ENV_FILE=\$tmp ${compose[*]:-docker-compose} --env-file \$tmp -f deploy/compose.yaml config -q" run_compose_config
step "promtool check config" \
	"promtool check config deploy/prometheus/prometheus.yml" \
	promtool check config deploy/prometheus/prometheus.yml
step "promtool check rules" \
	"promtool check rules deploy/prometheus/rules/paymon.rules.yml" \
	promtool check rules deploy/prometheus/rules/paymon.rules.yml
step "promtool test rules" \
	"promtool test rules deploy/prometheus/rules/paymon.rules.test.yml" \
	promtool test rules deploy/prometheus/rules/paymon.rules.test.yml
step "deploy/check tests" \
	"(cd deploy/check && go test -count=1 ./...)" run_go_tests

printf '\n%d passed, %d failed\n' "${#passed[@]}" "${#failed[@]}"
if [ ${#failed[@]} -gt 0 ]; then
	printf 'failed: %s\n' "${failed[@]}"
	exit 1
fi

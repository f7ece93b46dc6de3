#!/usr/bin/env bash
# scripts/step.sh LABEL CMD... runs CMD under a heading and, while it runs,
# prints a line every 20 s, so a cold first build (minutes of silence from
# npm, the Angular build and the Go compiler on 2 cores) never looks hung.
set -euo pipefail
label=$1
shift
start=$SECONDS
printf '==> %s\n' "$label"
(
	while sleep 20; do
		printf '    … still %s (%d s)\n' "$label" $((SECONDS - start))
	done
) &
ticker=$!
trap 'kill "$ticker" 2>/dev/null || true' EXIT
"$@"
printf '    %s: done in %d s\n' "$label" $((SECONDS - start))

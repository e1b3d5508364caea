#!/usr/bin/env bash
# What the GitHub Action (action.yml) runs: build the Tarski bundle from this checkout, run
# `tarski batch` on the inputs, write SARIF, and keep batch's exit code (0 clean, 1 findings,
# 2 unknown, 3 bad input, 4 internal error). Also usable as is in any CI:
#
#   TARSKI_ARGS='--template infra/' TARSKI_SARIF=tarski.sarif bash scripts/action.sh
#
# Environment: TARSKI_ARGS (arguments to `tarski batch`, word-split), TARSKI_SARIF (SARIF path,
# default tarski.sarif), TARSKI_BUNDLE (an existing bundle folder to use instead of building one),
# TARSKI_PROFILE (release, or dev to reuse a debug build).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sarif="${TARSKI_SARIF:-tarski.sarif}"
bundle="${TARSKI_BUNDLE:-}"
if [[ -z "$bundle" ]]; then
  bundle="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/tarski-bundle"
  bash "$root/scripts/release.sh" --profile "${TARSKI_PROFILE:-release}" --out "$bundle" >&2
fi
# shellcheck disable=SC2086 # TARSKI_ARGS is a list of arguments on purpose
read -r -a args <<< "${TARSKI_ARGS:-}"
status=0
"$bundle/bin/tarski" batch "${args[@]}" --no-progress --format sarif --output "$sarif" || status=$?
echo "tarski: exit $status; SARIF in $sarif" >&2
exit "$status"

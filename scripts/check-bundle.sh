#!/usr/bin/env bash
# Checks the installable forms end to end (issue 14), as scripts/test's last step:
# 1. scripts/release.sh builds a bundle (the release build scripts/test already made);
# 2. the bundle, copied to a fresh folder, runs `tarski can` on a shipped example with every
#    solver library loaded from the bundle, not from the checkout;
# 3. scripts/action.sh (what action.yml runs) writes a SARIF report and keeps batch's exit code.
# Prints one closing line: "bundle: all N checks ok" or "bundle: M of N checks FAILED".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() { # NAME, then a command that must succeed
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "bundle: ok   $name"
  else failed=$((failed + 1)); echo "bundle: FAIL $name"; fi
}

bash "$root/scripts/release.sh" --profile release --out "$work/built" >/dev/null || { echo "bundle: scripts/release.sh FAILED"; exit 1; }
cp -r "$work/built" "$work/elsewhere"
bin="$work/elsewhere/bin/tarski"

loads_from_bundle() {
  local trace
  trace="$(LD_TRACE_LOADED_OBJECTS=1 "$bin")"
  grep -q "libz3.*=> $work/elsewhere/bin/../lib/" <<< "$trace" && ! grep -q "$root/" <<< "$trace"
}
check "solver libraries load from the copied bundle" loads_from_bundle

can_example() {
  local out status=0
  out="$(cd "$work" && "$bin" can "$root/corpus/examples/mfa-confidential/identity.json" \
    --resource 'arn:aws:s3:::CompanyConfidential/*' --where '!aws:MultiFactorAuthPresent')" || status=$?
  [[ $status == 1 ]] && grep -q '^unreachable' <<< "$out"
}
check "copied bundle answers 'tarski can' (unreachable, exit 1)" can_example

action_findings() {
  local status=0
  (cd "$work" && TARSKI_BUNDLE="$work/elsewhere" TARSKI_SARIF="$work/out.sarif" \
    TARSKI_ARGS="$root/corpus/examples/mfa-confidential/identity.json --check no-admin" \
    bash "$root/scripts/action.sh" >/dev/null 2>&1) || status=$?
  [[ $status == 0 || $status == 1 ]] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == "2.1.0" and d["runs"][0]["tool"]["driver"]["name"].lower() == "tarski"
' "$work/out.sarif"
}
check "scripts/action.sh writes SARIF and keeps the exit code" action_findings

action_bad_input() {
  local status=0
  (cd "$work" && TARSKI_BUNDLE="$work/elsewhere" TARSKI_SARIF="$work/bad.sarif" \
    TARSKI_ARGS="$work/does-not-exist.json" bash "$root/scripts/action.sh" >/dev/null 2>&1) || status=$?
  [[ $status == 3 ]]
}
check "scripts/action.sh exits 3 on a missing input" action_bad_input

if [[ $failed == 0 ]]; then echo "bundle: all $passed checks ok"; else echo "bundle: $failed of $((passed + failed)) checks FAILED"; exit 1; fi

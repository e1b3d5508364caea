#!/usr/bin/env bash
# Install cvc5 1.0.3 (the `cvc5` binary) from Debian 12's package `cvc5`, pinned to 1.0.3-1.
# apt checks the package's signature (Debian's archive keys) and hash. Idempotent: does
# nothing when `cvc5 --version` already says 1.0.3 (or TARSKI_CVC5 points at a cvc5).
# Needs root (as CI has) or sudo. See docs/z3.md ("cvc5").
#
#   bash scripts/install-cvc5.sh
set -euo pipefail

CVC5_VERSION=1.0.3
DEB_VERSION=1.0.3-1

have() {
  local bin="${TARSKI_CVC5:-$(command -v cvc5 || true)}"
  [[ -n "$bin" && -x "$bin" ]] || return 1
  "$bin" --version 2>/dev/null | head -1 | grep -q "cvc5 version"
}

if have; then
  bin="${TARSKI_CVC5:-$(command -v cvc5)}"
  [[ -n "${INSTALL_CVC5_QUIET:-}" ]] || echo "install-cvc5: $("$bin" --version | head -1) at $bin"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "install-cvc5: no apt-get here; install cvc5 >= $CVC5_VERSION yourself and put it on PATH" >&2
  echo "or set TARSKI_CVC5 to the binary (docs/z3.md)." >&2
  exit 1
fi
SUDO=""
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null || { echo "install-cvc5: needs root or sudo for apt-get" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-cvc5: apt-get install cvc5=$DEB_VERSION"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "cvc5=$DEB_VERSION" >/dev/null
have || { echo "install-cvc5: cvc5 is still not usable after apt-get" >&2; exit 1; }
echo "install-cvc5: $(cvc5 --version | head -1)"

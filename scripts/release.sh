#!/usr/bin/env bash
# Build a self-contained Tarski bundle: the `tarski` binary plus the solver libraries it links,
# found relative to the binary ($ORIGIN/../lib, see build.rs), so the folder runs from anywhere.
#
#   bash scripts/release.sh                      # release build → dist/tarski-<version>-<target>/ + .tar.gz
#   bash scripts/release.sh --profile dev        # bundle the debug build (what CI checks, cheaply)
#   bash scripts/release.sh --out DIR            # write the bundle folder to DIR instead
#   bash scripts/release.sh --install PREFIX     # also copy bin/ and lib/ under PREFIX (e.g. ~/.local)
#
# The bundle holds: bin/tarski, lib/<every shared library the binary needs from this checkout's
# solver installs>, README.md, docs/, SHA256SUMS. System libraries (libc, libm, libgcc_s) are not
# copied: the bundle needs glibc >= the build machine's (Debian 12 here).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
profile=release
out=""
prefix=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --profile) profile="${2:?--profile needs dev or release}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --install) prefix="${2:?--install needs a prefix}"; shift 2 ;;
    *) echo "usage: $0 [--profile dev|release] [--out DIR] [--install PREFIX]" >&2; exit 2 ;;
  esac
done
case "$profile" in
  release) target_dir=release ;;
  dev) target_dir=debug ;;
  *) echo "release: --profile must be dev or release" >&2; exit 2 ;;
esac

cd "$root"
for installer in scripts/install-*.sh; do
  INSTALL_Z3_QUIET=1 bash "$installer" >&2
done
cargo build --quiet --profile "$profile" --bin tarski
bin="$root/target/$target_dir/tarski"

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
name="tarski-$version-$(uname -m)-$(uname -s | tr '[:upper:]' '[:lower:]')"
[[ -n "$out" ]] || out="$root/dist/$name"
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"
cp "$bin" "$out/bin/tarski"
[[ "$profile" == release ]] && strip "$out/bin/tarski" 2>/dev/null || true

# Every library the loader resolves inside this checkout (.z3/lib and any other solver install)
# goes into lib/ under the name the binary asks for (its DT_NEEDED soname).
copied=0
while read -r soname _ path _; do
  [[ "$path" == "$root"/* ]] || continue
  cp -L "$path" "$out/lib/$soname"
  copied=$((copied + 1))
done < <(ldd "$bin" | awk '$2 == "=>" {print $1, $2, $3, $4}')
if [[ $copied == 0 ]]; then
  echo "release: found no solver library of this checkout in 'ldd $bin'" >&2
  exit 1
fi

cp README.md "$out/"
mkdir -p "$out/docs" && cp docs/*.md "$out/docs/"
(cd "$out" && find bin lib -type f -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)

# The bundle must run without the checkout: its binary resolves every library from lib/.
if LD_TRACE_LOADED_OBJECTS=1 "$out/bin/tarski" | grep -q "$root/"; then
  echo "release: the bundled binary still loads a library from the checkout" >&2
  exit 1
fi

if [[ "$out" == "$root/dist/$name" ]]; then
  tar -C "$root/dist" -czf "$root/dist/$name.tar.gz" "$name"
  echo "release: $root/dist/$name.tar.gz"
fi
echo "release: bundle in $out"

if [[ -n "$prefix" ]]; then
  mkdir -p "$prefix/bin" "$prefix/lib"
  cp "$out/bin/tarski" "$prefix/bin/tarski"
  cp "$out"/lib/* "$prefix/lib/"
  echo "release: installed $prefix/bin/tarski (libraries in $prefix/lib)"
fi

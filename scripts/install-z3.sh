#!/usr/bin/env bash
# Install Z3 4.15.4 (shared library + C headers) into <repo>/.z3 from the PyPI wheel
# z3-solver==4.15.4.0. Idempotent: does nothing when .z3 already holds that version.
# Needs only python3 with pip (no apt, no sudo, no unzip). See docs/z3.md.
#
#   bash scripts/install-z3.sh           # install if missing
#   bash scripts/install-z3.sh --force   # reinstall
set -euo pipefail

Z3_VERSION=4.15.4
WHEEL_VERSION=4.15.4.0
# sha256 of z3_solver-4.15.4.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl,
# as published in PyPI's index for z3-solver (checked with `pip download` + sha256sum).
WHEEL_SHA256_X86_64=7e103a6f203f505b8b8b8e5c931cc407c95b61556512d4921c1ddc0b3f41b08e

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.z3"
STAMP="$DEST/INSTALLED"
STAMP_TEXT="z3 $Z3_VERSION from z3-solver==$WHEEL_VERSION sha256:$WHEEL_SHA256_X86_64"

force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

installed_ok() {
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_TEXT" ]] || return 1
  [[ -f "$DEST/lib/libz3.so.4.15" && -e "$DEST/lib/libz3.so" && -f "$DEST/include/z3.h" ]] || return 1
  [[ "$(lib_version "$DEST/lib/libz3.so")" == "$Z3_VERSION" ]]
}

# Ask the library itself (Z3_get_version) which version it is.
lib_version() {
  python3 - "$1" <<'PY' 2>/dev/null
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
v = [ctypes.c_uint() for _ in range(4)]
lib.Z3_get_version(*[ctypes.byref(x) for x in v])
print("%d.%d.%d" % (v[0].value, v[1].value, v[2].value))
PY
}

if [[ $force == 0 ]] && installed_ok; then
  # Quiet when a wrapper calls this on every run (scripts/tarski).
  [[ -n "${INSTALL_Z3_QUIET:-}" ]] || echo "install-z3: Z3 $Z3_VERSION already in $DEST"
  exit 0
fi

if [[ "$(uname -s)" != Linux || "$(uname -m)" != x86_64 ]]; then
  echo "install-z3: only Linux x86_64 is supported by this script; install Z3 >= 4.13.3" >&2
  echo "yourself and point the build at it (see docs/z3.md)." >&2
  exit 1
fi

command -v python3 >/dev/null || { echo "install-z3: python3 is required" >&2; exit 1; }
python3 -m pip --version >/dev/null 2>&1 || {
  echo "install-z3: pip is required (python3 -m pip); on Debian: apt-get install python3-pip" >&2
  exit 1
}

TMP="$(mktemp -d "$ROOT/.z3-tmp.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# --require-hashes makes pip itself refuse any other file; we check again below.
echo "z3-solver==$WHEEL_VERSION --hash=sha256:$WHEEL_SHA256_X86_64" >"$TMP/requirements.txt"
echo "install-z3: downloading z3-solver==$WHEEL_VERSION from PyPI"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --require-hashes -r "$TMP/requirements.txt" -d "$TMP/dl"

shopt -s nullglob
wheels=("$TMP"/dl/z3_solver-"$WHEEL_VERSION"-*manylinux*x86_64*.whl)
[[ ${#wheels[@]} == 1 ]] || { echo "install-z3: expected one x86_64 wheel, got: ${wheels[*]:-none}" >&2; exit 1; }
wheel="${wheels[0]}"
actual="$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$wheel")"
if [[ "$actual" != "$WHEEL_SHA256_X86_64" ]]; then
  echo "install-z3: sha256 mismatch for $(basename "$wheel"): got $actual, want $WHEEL_SHA256_X86_64" >&2
  exit 1
fi

# Extract only z3/lib and z3/include (python's zipfile: no dependency on unzip).
python3 - "$wheel" "$TMP/z3" <<'PY'
import os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        name = info.filename
        if info.is_dir() or not name.startswith(("z3/lib/", "z3/include/")):
            continue
        rel = name[len("z3/"):]
        if rel.startswith("lib/") and "/" in rel[len("lib/"):]:
            continue
        target = os.path.join(out, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(info) as src, open(target, "wb") as dst:
            dst.write(src.read())
PY

lib="$TMP/z3/lib"
[[ -f "$lib/libz3.so.4.15" && -f "$TMP/z3/include/z3.h" ]] || {
  echo "install-z3: wheel does not contain lib/libz3.so.4.15 and include/z3.h" >&2; exit 1; }
# The wheel ships two identical copies; keep one file (its SONAME is libz3.so.4.15).
chmod 0755 "$lib/libz3.so.4.15"
rm -f "$lib/libz3.so"
ln -s libz3.so.4.15 "$lib/libz3.so"

mkdir -p "$lib/pkgconfig"
cat >"$lib/pkgconfig/z3.pc" <<PC
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: z3
Description: The Z3 Theorem Prover (from the PyPI wheel z3-solver==$WHEEL_VERSION)
Version: $Z3_VERSION
Libs: -L\${libdir} -lz3
Cflags: -I\${includedir}
PC

echo "$STAMP_TEXT" >"$TMP/z3/INSTALLED"
rm -rf "$DEST"
mv "$TMP/z3" "$DEST"
installed_ok || { echo "install-z3: post-install check failed" >&2; exit 1; }
echo "install-z3: installed Z3 $Z3_VERSION into $DEST"

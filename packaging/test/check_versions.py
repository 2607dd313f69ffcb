#!/usr/bin/env python3
"""One version everywhere: pg_trickle.control's default_version is the
version of META.json (and of its provides), of the install script
sql/pg_trickle--VERSION.sql, of the Debian changelog's top entry, of the RPM
spec, of the image's PG_TRICKLE_VERSION, of CHANGELOG.md's newest section
and the docs' install commands.  Prints "ok versions ..." or "FAILED
versions: ..." per check and exits non-zero when one fails.

    check_versions.py [ROOT]
"""
import json
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
failed = 0


def read(path):
    global failed
    try:
        return (root / path).read_text(encoding="utf-8")
    except OSError as e:
        print(f"FAILED versions {path}: {e.strerror}")
        failed += 1
        return ""


def check(name, got, want):
    global failed
    if got == want:
        print(f"ok versions {name} ({got})")
    else:
        print(f"FAILED versions {name}: {got!r}, not {want!r}")
        failed += 1


def first(pattern, text, what):
    m = re.search(pattern, text, re.M)
    return m.group(1) if m else f"<no {what}>"


version = first(r"^default_version = '([^']+)'$", read("pg_trickle.control"), "default_version")
if not re.fullmatch(r"\d+\.\d+\.\d+", version):
    print(f"FAILED versions: pg_trickle.control's default_version {version!r} is not MAJOR.MINOR.PATCH")
    sys.exit(1)

meta = json.loads(read("META.json") or "{}")
check("META.json version", meta.get("version"), version)
check("META.json provides.pg_trickle.version", meta.get("provides", {}).get("pg_trickle", {}).get("version"), version)
check("META.json provides.pg_trickle.file", meta.get("provides", {}).get("pg_trickle", {}).get("file"),
      f"sql/pg_trickle--{version}.sql")
check("install script sql/pg_trickle--VERSION.sql", (root / f"sql/pg_trickle--{version}.sql").is_file(), True)
makefile_data = first(r"^DATA = (.*)$", read("Makefile"), "DATA")
check("Makefile DATA installs the script", f"sql/pg_trickle--{version}.sql" in makefile_data.split(), True)

# Debian: the upstream part of the top entry's version (0.2.0-1 -> 0.2.0)
deb = first(r"^pg-trickle \(([^)]+)\)", read("packaging/debian/changelog"), "changelog entry")
check("packaging/debian/changelog", re.sub(r"-[^-]+$", "", deb), version)

spec = read("packaging/rpm/pg_trickle.spec")
check("packaging/rpm/pg_trickle.spec Version", first(r"^Version:\s*(\S+)$", spec, "Version"), version)
check("packaging/rpm/pg_trickle.spec %changelog",
      re.sub(r"-[^-]+$", "", first(r"^\* .* - (\S+)$", spec, "changelog entry")), version)

dockerfile = read("packaging/docker/Dockerfile")
check("packaging/docker/Dockerfile PG_TRICKLE_VERSION",
      first(r"^ARG PG_TRICKLE_VERSION=(\S+)$", dockerfile, "ARG PG_TRICKLE_VERSION"), version)

workflow = read(".github/workflows/image.yml")
check("image tags <major>-<version> from pg_trickle.control",
      "pg_trickle.control" in workflow
      and "${{ matrix.pg_major }}-${{ steps.version.outputs.version }}" in workflow
      and "PG_TRICKLE_VERSION=${{ steps.version.outputs.version }}" in workflow, True)

changelog = read("CHANGELOG.md")
check("CHANGELOG.md newest section",
      first(r"^## \[(?:Unreleased\] — )?([0-9][^\]\s]*)", changelog, "version section"), version)

# the commands of docs/install.md name this version's files and image tags
install = read("docs/install.md")
others = sorted(set(re.findall(r"pg_trickle-(\d+\.\d+\.\d+)", install)
                    + re.findall(r"pg-trickle_(\d+\.\d+\.\d+)", install)
                    + re.findall(r"pg_trickle_\d+-(\d+\.\d+\.\d+)", install)
                    + re.findall(r"pg_trickle:\d+-(\d+\.\d+\.\d+)", install)) - {version})
check("docs/install.md names no other version", others, [])

sys.exit(1 if failed else 0)

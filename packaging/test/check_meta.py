#!/usr/bin/env python3
"""What pgxn_meta's schema does not check in META.json: the minimum
PostgreSQL is the oldest the project builds for (15), the provided file and
docfile exist, the maintainer has an e-mail address, the license is the one
of LICENSE, every URL names a real owner (no placeholder), the tags are
there.  Prints "ok meta ..." / "FAILED meta ...: why" per check.

    check_meta.py [ROOT]
"""
import json
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
meta = json.loads((root / "META.json").read_text(encoding="utf-8"))
failed = 0


def check(name, why):
    global failed
    if why:
        print(f"FAILED meta {name}: {why}")
        failed += 1
    else:
        print(f"ok meta {name}")


pg = meta.get("prereqs", {}).get("runtime", {}).get("requires", {}).get("PostgreSQL")
check("prereqs PostgreSQL 15.0.0", None if pg == "15.0.0" else f"requires PostgreSQL {pg!r}")
provides = meta.get("provides", {}).get("pg_trickle", {})
for key in ("file", "docfile"):
    check(f"provides {key} exists",
          None if provides.get(key) and (root / provides[key]).is_file() else f"{provides.get(key)!r} is missing")
maintainers = meta.get("maintainer")
maintainers = [maintainers] if isinstance(maintainers, str) else maintainers or []
check("maintainer e-mail",
      None if maintainers and all(re.fullmatch(r"[^<>]*\S <[^@<>\s]+@[^@<>\s]+\.[^@<>\s]+>", m) for m in maintainers)
      else f"{maintainers!r}")
license_text = (root / "LICENSE").read_text(encoding="utf-8")
check("license", None if meta.get("license") == "postgresql" and "PostgreSQL License" in license_text
      else f"{meta.get('license')!r} against LICENSE")
urls = []


def walk(value):
    if isinstance(value, dict):
        for v in value.values():
            walk(v)
    elif isinstance(value, str) and value.startswith("http"):
        urls.append(value)


walk(meta.get("resources", {}))
bad = [u for u in urls if not re.match(r"https://github\.com/pg-trickle/pg_trickle(\.git|/issues)?$", u)]
check("resources URLs", None if urls and not bad else f"{bad or 'no URLs'}")
check("tags", None if meta.get("tags") else "no tags")
check("meta-spec 1.0.0", None if meta.get("meta-spec", {}).get("version") == "1.0.0" else "not 1.0.0")
sys.exit(1 if failed else 0)

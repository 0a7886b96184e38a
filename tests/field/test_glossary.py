"""Every string the app shows has its Chinese in scripts/glossary/field.json, with the same
placeholders, and the glossary holds nothing the app does not use."""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.utils import translation

from zhiwang.field.labels import error_messages, labels

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "scripts" / "glossary" / "field.json"
TEMPLATES = ROOT / "src" / "zhiwang" / "field" / "templates" / "field"
TRANSLATE_TAG = re.compile(r"""{% translate (?:"([^"]+)"|'([^']+)') %}""")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
CJK = re.compile(r"[\u4e00-\u9fff]")


def msgids() -> set[str]:
    with translation.override(None):
        found = set(labels().values()) | set(error_messages().values())
    for template in TEMPLATES.glob("*.html"):
        found |= {a or b for a, b in TRANSLATE_TAG.findall(template.read_text(encoding="utf-8"))}
    return found


def test_every_string_of_the_app_has_its_chinese() -> None:
    glossary = json.loads(GLOSSARY.read_text(encoding="utf-8"))
    missing = sorted(msgids() - set(glossary))
    assert missing == []
    for english, chinese in glossary.items():
        assert CJK.search(chinese), english
        assert sorted(PLACEHOLDER.findall(chinese)) == sorted(PLACEHOLDER.findall(english)), english


def test_the_glossary_holds_only_strings_the_app_uses() -> None:
    glossary = json.loads(GLOSSARY.read_text(encoding="utf-8"))
    assert sorted(set(glossary) - msgids()) == []

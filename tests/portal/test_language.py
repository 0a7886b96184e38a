"""The portal speaks Chinese first: every string it shows has its Chinese in the glossary, and with
the glossary compiled the residents' pages and their refusals read in Chinese."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

from django.test import Client

from tests.cases.conftest import Place
from tests.portal.conftest import GLOSSARY, report_form, speak_glossary

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "src/zhiwang/portal"
TRANSLATE = re.compile(r"""\{%\s*translate\s+(?:"([^"]+)"|'([^']+)')""")
BLOCK = re.compile(r"\{%\s*blocktranslate[^%]*%\}(.*?)\{%\s*endblocktranslate\s*%\}", re.S)
VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
SELFSERVICE_GLOSSARY = ROOT / "scripts/glossary/registry-selfservice.json"


def portal_msgids() -> set[str]:
    found: set[str] = set()
    for template in (PORTAL / "templates").rglob("*.html"):
        source = template.read_text(encoding="utf-8")
        found.update(a or b for a, b in TRANSLATE.findall(source))
        found.update(VARIABLE.sub(r"%(\1)s", block) for block in BLOCK.findall(source))
    for module in PORTAL.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_":
                if (
                    node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    found.add(node.args[0].value)
    return found


def glossary() -> dict[str, str]:
    """The portal's glossary and that of the residents' self-service pages it shows."""
    data: dict[str, str] = {}
    for path in (GLOSSARY, SELFSERVICE_GLOSSARY):
        data.update(json.loads(path.read_text(encoding="utf-8")))
    return data


def test_every_string_the_portal_shows_has_its_chinese() -> None:
    msgids, words = portal_msgids(), glossary()
    assert len(msgids) > 80
    assert sorted(msgids - set(words)) == []
    for msgid in msgids:
        assert re.search(r"[\u4e00-\u9fff]", words[msgid]), msgid
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(words[msgid])), msgid


def test_the_report_form_and_its_refusals_read_in_chinese(
    place: Place, settings: Any, tmp_path: Path
) -> None:
    speak_glossary(settings, tmp_path)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    page = client.get("/resident/").content.decode()
    assert "我要上报" in page and "遇到了什么问题？" in page and "不确定（由工作人员分类）" in page
    assert re.search(r"验证：\d 加 \d 等于几？", page)
    response = client.post("/resident/", report_form(client, description="", phone="110", lon="", lat=""))
    html = response.content.decode()
    assert response.status_code == 400
    assert '<p class="error" id="id_description-error">请描述问题。</p>' in html
    assert '<p class="error" id="id_phone-error">请输入中国大陆手机号：以 1 开头的 11 位数字。</p>' in html
    assert '<p class="error" id="id_lon-error">请在地图上标出问题所在位置。</p>' in html
    # English stays one switch away.
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/resident/").content.decode()
    assert "Report a problem" in english and "我要上报" not in english

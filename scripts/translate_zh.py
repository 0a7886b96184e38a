"""Fill the Simplified Chinese catalogue from the glossary below, then compile it.

Run after `zhiwang makemessages -l zh_Hans` (from src/zhiwang): python scripts/translate_zh.py
Strings missing from the glossary are listed and left untranslated.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

PO = Path(__file__).resolve().parent.parent / "src/zhiwang/locale/zh_Hans/LC_MESSAGES/django.po"

GLOSSARY = {
    "Username": "用户名",
    "Password": "密码",
    "Six-digit code": "六位动态码",
    "Enter the six digits your authenticator app shows.": "请输入身份验证器应用显示的六位数字。",
    "display name": "显示名称",
    "phone": "电话",
    "Urban management (城管)": "城管",
    "Fire and rescue (消防)": "消防",
    "Public security (公安)": "公安",
    "Emergency and work safety (应急/安监)": "应急/安监",
    "Housing and construction (住建)": "住建",
    "Ecology and environment (生态环境)": "生态环境",
    "Market regulation (市场监管)": "市场监管",
    "Water affairs (水务)": "水务",
    "Transport (交通)": "交通",
    "Health (卫健)": "卫健",
    "Other": "其他",
    "Grid worker": "网格员",
    "Community dispatcher": "社区调度员",
    "Town commander": "镇街指挥员",
    "City commander": "市级指挥员",
    "Department handler": "部门处置人员",
    "Leader": "领导",
    "Administrator": "管理员",
    "Full-time (专职)": "专职",
    "Part-time (兼职)": "兼职",
    "Professional (专业)": "专业",
    "Sign in": "登录",
    "Work queues": "工作队列",
    "Dashboard": "指挥看板",
    "Grid worker app": "网格员应用",
    "Staff sign-in": "工作人员登录",
    "Residents report problems without an account, on the public portal.": "居民无需账号，可在公众端上报问题。",
    "Second factor": "二次验证",
    "Your role requires a one-time code at sign-in. Add this key to an authenticator app (for example by "
    "pasting it), then enter the code it shows.": "您的角色登录时需要动态验证码。请将此密钥添加到身份验证器应用（例如粘贴），然后输入其显示的验证码。",
    "Enter the code your authenticator app shows.": "请输入身份验证器应用显示的验证码。",
    "Verify": "验证",
    "Wrong username or password.": "用户名或密码错误。",
    "Too many failed attempts. The account is locked for a while; try again later.": "失败次数过多，账号已暂时锁定，请稍后再试。",
    "That code is not right. Check your authenticator app and try again.": "验证码不正确，请核对身份验证器应用后重试。",
    "Sign-in failed.": "登录失败。",
    "Administrative grid": "行政网格",
    "Urban management grid": "城管网格",
    "Fire safety grid": "消防网格",
    "Policing grid": "警务网格",
    "Work safety grid": "安全生产网格",
    "Enterprise grid": "企业网格",
    "City": "市",
    "Town/street": "镇街",
    "Village/community": "村（社区）",
    "Base grid": "基础网格",
    "Sub-grid": "子网格",
    "Overlay grid": "专业网格",
    "Created": "新建",
    "Imported": "导入",
    "Split": "拆分",
    "Merged": "合并",
    "Redrawn": "调整边界",
    "Retired": "撤销",
    "Renamed": "更名",
    "Grid map": "网格地图",
    "Position in the grid tree": "在网格树中的位置",
    "Loading…": "加载中…",
    "Your account covers no grid yet. Ask an administrator for a role.": "您的账号尚未关联任何网格，请联系管理员分配角色。",
    "Map": "地图",
    "sub-areas": "个下级区域",
    "km²": "平方公里",
    "No sub-areas below this grid.": "此网格下没有下级区域。",
    "Could not load the map data. Try again.": "地图数据加载失败，请重试。",
    "Not available": "无法访问",
    "Grids without a worker": "无人网格",
    "%(total)s base grid in your area has no grid worker assigned.": "您辖区内有 %(total)s 个基础网格尚未配备网格员。",
    "Grid code": "网格编码",
    "Grid": "网格",
    "Previous": "上一页",
    "Next": "下一页",
    "Every grid has a worker. 一格一员 is met.": "每个网格都已配备网格员，达到一格一员。",
    "zhiwang": "智网",
    "Grid governance": "网格化治理",
    "Grid governance platform": "网格化治理平台",
    "API": "接口",
    "Language": "语言",
    "Sign out": "退出",
}


def unquote(lines: list[str]) -> str:
    return (
        "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', " ".join(lines))).replace('\\"', '"').replace("\\n", "\n")
    )


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def load_glossaries() -> dict[str, str]:
    """The glossary above plus one JSON file per part of the product under scripts/glossary/."""
    glossary = dict(GLOSSARY)
    for path in sorted((Path(__file__).resolve().parent / "glossary").glob("*.json")):
        for msgid, text in json.loads(path.read_text(encoding="utf-8")).items():
            if glossary.get(msgid, text) != text:
                print(
                    f"{path.name}: {msgid!r} is {glossary[msgid]!r} elsewhere, not {text!r}", file=sys.stderr
                )
            glossary.setdefault(msgid, text)
    return glossary


def main() -> int:
    glossary = load_glossaries()
    entries = PO.read_text(encoding="utf-8").split("\n\n")
    missing: list[str] = []
    out: list[str] = []
    for entry in entries:
        lines = entry.split("\n")
        idx = next((i for i, line in enumerate(lines) if line.startswith("msgid ")), None)
        if idx is None:
            out.append(entry)
            continue
        end = next(i for i in range(idx + 1, len(lines)) if not lines[i].startswith('"'))
        msgid = unquote(lines[idx:end])
        if not msgid:
            out.append(
                entry.replace('"Language: \\n"', '"Language: zh_Hans\\n"').replace(
                    '"Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\\n"',
                    '"Plural-Forms: nplurals=1; plural=0;\\n"',
                )
            )
            continue
        context = next(
            (unquote([line[len("msgctxt ") :]]) for line in lines if line.startswith("msgctxt ")), ""
        )
        # A glossary key "context|msgid" translates a msgid given a context with pgettext.
        text = glossary.get(f"{context}|{msgid}") if context else glossary.get(msgid)
        if text is None:
            missing.append(msgid)
            out.append(entry)
            continue
        head = [line for line in lines[:end] if not line.startswith("#, fuzzy")]
        if any(line.startswith("msgid_plural") for line in lines):
            plural_end = next(i for i in range(end + 1, len(lines)) if not lines[i].startswith('"'))
            head = [line for line in lines[:plural_end] if not line.startswith("#, fuzzy")]
            out.append("\n".join([*head, f"msgstr[0] {quote(text)}"]))
        else:
            out.append("\n".join([*head, f"msgstr {quote(text)}"]))
    PO.write_text("\n\n".join(out), encoding="utf-8")
    subprocess.run(["msgfmt", "--check", "-o", str(PO.with_suffix(".mo")), str(PO)], check=True)
    for msgid in missing:
        print("untranslated:", msgid, file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())

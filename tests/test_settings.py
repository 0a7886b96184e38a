"""Settings come from the environment, and `.env.example` lists every variable they read."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_lists_every_variable_the_settings_read() -> None:
    source = (ROOT / "src/zhiwang/settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r'(?:os\.environ\.get|env_bool|env_list)\(\s*"([A-Z_]+)"', source))
    listed = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M))
    assert read and read == listed


def test_chinese_first_shanghai_time_aware_datetimes() -> None:
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert ("en", "English") in settings.LANGUAGES
    assert settings.TIME_ZONE == "Asia/Shanghai" and settings.USE_TZ

"""`zhiwang check` warns when personal data is protected by development keys outside DEBUG."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from zhiwang.registry.crypto import KeyConfigurationError, parse_data_keys


@register()
def check_registry_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    try:
        parse_data_keys(tuple(settings.ZHIWANG_DATA_KEYS))
    except KeyConfigurationError as exc:
        problems.append(Error(str(exc), id="registry.E001"))
    if settings.DEBUG or settings.SECRET_KEY == settings.INSECURE_DEVELOPMENT_KEY:
        return problems  # a development install (the demo): its secret key already says so
    if not settings.ZHIWANG_DATA_KEYS:
        problems.append(
            Warning(
                "ZHIWANG_DATA_KEYS is empty: ID and phone numbers are encrypted with a key derived from "
                "SECRET_KEY, which is for development only.",
                hint="Set ZHIWANG_DATA_KEYS to 'key_id:base64 of 32 random bytes'.",
                id="registry.W001",
            )
        )
    if not settings.ZHIWANG_LOOKUP_KEY:
        problems.append(
            Warning(
                "ZHIWANG_LOOKUP_KEY is empty: the search hash of ID and phone numbers uses a key derived "
                "from SECRET_KEY, which is for development only.",
                hint="Set ZHIWANG_LOOKUP_KEY to a long random secret.",
                id="registry.W002",
            )
        )
    return problems

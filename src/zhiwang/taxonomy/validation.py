"""Checking category entries (from a file, or one edit) before anything is written.

Every check reports a `Problem` naming the entry (its code, or its position when the code is
unusable) and the field, and checking goes on, so one refusal lists everything that is wrong.
Nothing here touches the database: the services pass in what the database holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zhiwang.accounts.models import DepartmentKind
from zhiwang.taxonomy.models import (
    KIND_PREFIX,
    LIST_TYPES,
    ExtraFieldType,
    OverlayLayer,
    TimeUnit,
    Urgency,
)

MAJOR_CODE = re.compile(r"^([EC])(\d{2})$")
MINOR_CODE = re.compile(r"^([EC])(\d{2})(\d{2})$")
FIELD_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
KIND_OF_PREFIX = {prefix: kind for kind, prefix in KIND_PREFIX.items()}

MAX_TIME_LIMIT = 999
MAX_SORT_ORDER = 32767
MAX_CRITERIA = 4000
MAX_KEYWORDS = 30
MAX_KEYWORD = 50
MAX_EXTRA_FIELDS = 30

# The fields of a category an entry sets (besides code, kind and parent, which the code fixes).
EDITABLE_FIELDS: tuple[str, ...] = (
    "name",
    "filing_criteria",
    "closing_criteria",
    "time_limit",
    "time_unit",
    "department_kind",
    "overlay_layer",
    "handled_by_community",
    "urgency_default",
    "keywords",
    "extra_fields",
    "is_active",
    "sort_order",
)
ENTRY_KEYS = frozenset({"code", "kind", "parent", "minors", *EDITABLE_FIELDS})
EXTRA_FIELD_KEYS = frozenset({"code", "name", "datatype", "required", "description", "values"})
FILE_KEYS = frozenset({"format", "version", "title", "notes", "source", "categories"})
FILE_FORMAT = "zhiwang.categories"
FILE_VERSION = 1


@dataclass(frozen=True)
class Problem:
    code: str  # the entry's code, or "#3" / "#3.2" (its position) when it has no usable code
    field: str  # the field at fault, "" for the entry as a whole
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message}


@dataclass
class CategorySpec:
    """One entry, checked and normalised: what the category row should hold."""

    code: str
    kind: str
    parent_code: str | None
    name: str
    filing_criteria: str = ""
    closing_criteria: str = ""
    time_limit: int | None = None
    time_unit: str = ""
    department_kind: str = ""
    overlay_layer: str = ""
    handled_by_community: bool = False
    urgency_default: str = Urgency.NORMAL
    keywords: list[str] = field(default_factory=list)
    extra_fields: list[dict[str, Any]] = field(default_factory=list)
    is_active: bool = True
    sort_order: int | None = None  # None: by position in the file

    @property
    def is_major(self) -> bool:
        return self.parent_code is None

    def values(self) -> dict[str, Any]:
        """The row's editable fields (sort_order must have been resolved)."""
        return {name: getattr(self, name) for name in EDITABLE_FIELDS}


@dataclass(frozen=True)
class RawEntry:
    """An entry as found in a file, with where it was and the 大类 it was listed under."""

    label: str
    data: Any
    listed_under: str | None = None


def code_parts(code: Any) -> tuple[str, str | None] | None:
    """(kind, parent code) of a well-formed code, None otherwise."""
    if not isinstance(code, str):
        return None
    major = MAJOR_CODE.match(code)
    if major is not None:
        return (KIND_OF_PREFIX[major.group(1)], None) if major.group(2) != "00" else None
    minor = MINOR_CODE.match(code)
    if minor is not None and minor.group(2) != "00" and minor.group(3) != "00":
        return KIND_OF_PREFIX[minor.group(1)], code[:3]
    return None


def describe_scheme() -> str:
    return (
        "a 大类 code is E (event) or C (component) and two digits 01–99 (E01, C03); "
        "a 小类 code is its 大类's code and two digits 01–99 (E0101)"
    )


# --- the file ---------------------------------------------------------------------------------


def flatten_file(data: Any) -> tuple[list[RawEntry], list[Problem]]:
    """The entries of a category file: {"categories": [...]} (or a bare list), where a 大类 may
    list its 小类 under "minors"."""
    problems: list[Problem] = []
    if isinstance(data, Mapping):
        for key in sorted(set(data) - FILE_KEYS):
            problems.append(Problem("", key, f"Unknown top-level key {key!r}."))
        if "format" in data and data["format"] != FILE_FORMAT:
            problems.append(Problem("", "format", f"The format is {FILE_FORMAT!r}, not {data['format']!r}."))
        if "version" in data and data["version"] != FILE_VERSION:
            problems.append(
                Problem("", "version", f"Version {data['version']!r} is not supported (only {FILE_VERSION}).")
            )
        items = data.get("categories")
    else:
        items = data
    if not isinstance(items, list):
        problems.append(Problem("", "categories", "A category file holds a list of categories."))
        return [], problems
    entries: list[RawEntry] = []
    for i, item in enumerate(items, start=1):
        label = _label(item, f"#{i}")
        entries.append(RawEntry(label, item))
        if not isinstance(item, Mapping) or "minors" not in item:
            continue
        minors = item["minors"]
        if not isinstance(minors, list):
            problems.append(Problem(label, "minors", "'minors' is a list of 小类 entries."))
            continue
        for j, minor in enumerate(minors, start=1):
            entries.append(RawEntry(_label(minor, f"#{i}.{j}"), minor, listed_under=label))
    return entries, problems


def _label(item: Any, position: str) -> str:
    if isinstance(item, Mapping) and isinstance(item.get("code"), str) and item["code"].strip():
        return str(item["code"]).strip()[:16]
    return position


# --- one entry --------------------------------------------------------------------------------


def check_entry(raw: RawEntry) -> tuple[CategorySpec | None, list[Problem]]:
    """Check one entry on its own (other entries and the database are checked by the caller)."""
    label = raw.label
    data = raw.data
    if not isinstance(data, Mapping):
        return None, [Problem(label, "", "An entry is an object with a code and a name.")]
    problems: list[Problem] = []

    def bad(field_name: str, message: str) -> None:
        problems.append(Problem(label, field_name, message))

    for key in sorted(set(data) - ENTRY_KEYS, key=str):
        bad(str(key), f"Unknown field {key!r}.")

    code = data.get("code")
    if isinstance(code, str):
        code = code.strip()
    parts = code_parts(code)
    if parts is None:
        bad("code", f"Code {code!r} does not follow the scheme: {describe_scheme()}.")
        return None, problems
    kind, parent_code = parts
    assert isinstance(code, str)  # code_parts accepts strings only
    if "kind" in data and data["kind"] != kind:
        bad("kind", f"Code {code} is a {kind} category, not {data['kind']!r}.")
    if parent_code is None:
        if data.get("parent") not in (None, ""):
            bad("parent", "A 大类 has no parent.")
        if raw.listed_under is not None:
            bad("code", f"Only 小类 can be listed under a 大类 ({raw.listed_under}).")
    else:
        if data.get("parent") not in (None, "", parent_code):
            bad("parent", f"The 大类 of {code} is {parent_code} by its code, not {data['parent']!r}.")
        if raw.listed_under is not None and raw.listed_under != parent_code:
            bad("code", f"{code} is listed under {raw.listed_under} but belongs to {parent_code}.")
        if "minors" in data:
            bad("minors", "Only a 大类 lists 小类.")
    spec = CategorySpec(code=code, kind=kind, parent_code=parent_code, name="")
    is_minor = parent_code is not None

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        bad("name", "A name is required.")
    elif len(name.strip()) > 100:
        bad("name", "A name has at most 100 characters.")
    else:
        spec.name = name.strip()

    for text_field in ("filing_criteria", "closing_criteria"):
        value = data.get(text_field, "")
        value = "" if value is None else value
        if not isinstance(value, str):
            bad(text_field, "Criteria are text.")
        elif len(value) > MAX_CRITERIA:
            bad(text_field, f"Criteria have at most {MAX_CRITERIA} characters.")
        else:
            setattr(spec, text_field, value.strip())

    limit = data.get("time_limit")
    unit = data.get("time_unit") or ""
    if is_minor:
        limit_value = _whole_number(limit)
        if limit is None:
            bad("time_limit", "A 小类 needs a time limit.")
        elif limit_value is None or not 1 <= limit_value <= MAX_TIME_LIMIT:
            bad("time_limit", f"A time limit is a whole number from 1 to {MAX_TIME_LIMIT}, not {limit!r}.")
        else:
            spec.time_limit = limit_value
        if unit not in TimeUnit.values:
            bad("time_unit", f"The time unit is one of {', '.join(TimeUnit.values)}, not {unit!r}.")
        else:
            spec.time_unit = unit
    else:
        if limit is not None:
            bad("time_limit", "Only a 小类 has a time limit.")
        if unit:
            bad("time_unit", "Only a 小类 has a time unit.")

    department = data.get("department_kind") or ""
    if department and department not in DepartmentKind.values:
        bad(
            "department_kind",
            f"The department kind is one of {', '.join(DepartmentKind.values)}, not {department!r}.",
        )
    elif is_minor and not department:
        bad("department_kind", "A 小类 names the kind of department that handles it.")
    else:
        spec.department_kind = department

    layer = data.get("overlay_layer") or ""
    if layer and layer not in OverlayLayer.values:
        bad("overlay_layer", f"The overlay layer is one of {', '.join(OverlayLayer.values)}, not {layer!r}.")
    elif layer and not is_minor:
        bad("overlay_layer", "Only a 小类 routes by overlay layer.")
    else:
        spec.overlay_layer = layer

    community = data.get("handled_by_community", False)
    if not isinstance(community, bool):
        bad("handled_by_community", "handled_by_community is true or false.")
    elif community and not is_minor:
        bad("handled_by_community", "Only a 小类 is handled by the community.")
    else:
        spec.handled_by_community = community

    urgency = data.get("urgency_default") or Urgency.NORMAL
    if urgency not in Urgency.values:
        bad("urgency_default", f"The urgency is one of {', '.join(Urgency.values)}, not {urgency!r}.")
    else:
        spec.urgency_default = urgency

    keywords, keyword_problems = _keywords(data.get("keywords"))
    for message in keyword_problems:
        bad("keywords", message)
    spec.keywords = keywords

    extra = data.get("extra_fields")
    if extra not in (None, []) and not is_minor:
        bad("extra_fields", "Only a 小类 has extra fields.")
    else:
        fields, field_problems = _extra_fields(extra)
        for message in field_problems:
            bad("extra_fields", message)
        spec.extra_fields = fields

    active = data.get("is_active", True)
    if not isinstance(active, bool):
        bad("is_active", "is_active is true or false.")
    else:
        spec.is_active = active

    order = data.get("sort_order")
    if order is not None:
        order_value = _whole_number(order)
        if order_value is None or not 0 <= order_value <= MAX_SORT_ORDER:
            bad("sort_order", f"The sort order is a whole number from 0 to {MAX_SORT_ORDER}.")
        else:
            spec.sort_order = order_value
    return (spec if not problems else None), problems


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _keywords(value: Any) -> tuple[list[str], list[str]]:
    if value is None:
        return [], []
    if not isinstance(value, list):
        return [], ["Keywords are a list of words."]
    problems: list[str] = []
    words: list[str] = []
    for word in value:
        if not isinstance(word, str) or not word.strip():
            problems.append(f"Keyword {word!r} is not a word.")
        elif len(word.strip()) > MAX_KEYWORD:
            problems.append(f"Keyword {word[:20]!r}… is longer than {MAX_KEYWORD} characters.")
        elif word.strip() not in words:
            words.append(word.strip())
    if len(words) > MAX_KEYWORDS:
        problems.append(f"At most {MAX_KEYWORDS} keywords.")
    return words, problems


def _extra_fields(value: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Normalised extra fields: {code, name, datatype, required, description, values}."""
    if value is None:
        return [], []
    if not isinstance(value, list):
        return [], ["Extra fields are a list of field definitions."]
    if len(value) > MAX_EXTRA_FIELDS:
        return [], [f"At most {MAX_EXTRA_FIELDS} extra fields."]
    problems: list[str] = []
    fields: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, item in enumerate(value, start=1):
        if not isinstance(item, Mapping):
            problems.append(f"Extra field #{n} is not an object.")
            continue
        code = item.get("code")
        where = f"Extra field {code!r}" if isinstance(code, str) and code else f"Extra field #{n}"
        before = len(problems)
        for key in sorted(set(item) - EXTRA_FIELD_KEYS, key=str):
            problems.append(f"{where}: unknown key {key!r}.")
        if not isinstance(code, str) or not FIELD_CODE.match(code):
            problems.append(f"{where}: a code is a letter then up to 31 letters, digits or '_'.")
        elif code in seen:
            problems.append(f"{where}: the code is used twice.")
        else:
            seen.add(code)
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            problems.append(f"{where}: a name of 1–100 characters is required.")
        datatype = item.get("datatype")
        if datatype not in ExtraFieldType.values:
            problems.append(
                f"{where}: the datatype is one of {', '.join(ExtraFieldType.values)}, not {datatype!r}."
            )
        required = item.get("required", False)
        if not isinstance(required, bool):
            problems.append(f"{where}: 'required' is true or false.")
        description = item.get("description", "")
        description = "" if description is None else description
        if not isinstance(description, str) or len(description) > 500:
            problems.append(f"{where}: a description is text of at most 500 characters.")
        values, value_problems = _list_values(where, datatype, item.get("values"))
        problems += value_problems
        if len(problems) == before:
            fields.append(
                {
                    "code": code,
                    "name": str(name).strip(),
                    "datatype": datatype,
                    "required": required,
                    "description": str(description).strip(),
                    "values": values,
                }
            )
    return fields, problems


def _list_values(where: str, datatype: Any, values: Any) -> tuple[list[dict[str, str]], list[str]]:
    if datatype not in LIST_TYPES:
        if values not in (None, []):
            return [], [f"{where}: only list datatypes have values."]
        return [], []
    if not isinstance(values, list) or not values:
        return [], [f"{where}: a {datatype} needs a non-empty list of values {{key, name}}."]
    problems: list[str] = []
    out: list[dict[str, str]] = []
    keys: set[str] = set()
    for value in values:
        if not isinstance(value, Mapping) or set(value) - {"key", "name"}:
            problems.append(f"{where}: each value is {{key, name}}, not {value!r}.")
            continue
        key, name = value.get("key"), value.get("name")
        if not isinstance(key, str) or not key.strip() or len(key) > 50:
            problems.append(f"{where}: value key {key!r} is not a text of 1–50 characters.")
        elif key.strip() in keys:
            problems.append(f"{where}: value key {key!r} is used twice.")
        elif not isinstance(name, str) or not name.strip() or len(name) > 100:
            problems.append(f"{where}: value {key!r} needs a name of 1–100 characters.")
        else:
            keys.add(key.strip())
            out.append({"key": key.strip(), "name": name.strip()})
    return out, problems


# --- the table as a whole ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """What the table-wide checks need of a category, as it would be after the change."""

    kind: str
    parent_code: str | None
    name: str
    is_active: bool


def check_table(rows: Mapping[str, Row], touched: Iterable[str]) -> list[Problem]:
    """Table-wide rules on the state after a change: every 小类's 大类 exists, is a 大类 of the same
    kind and is active when the 小类 is; names are unique among siblings. Problems are laid at
    the entries being changed (`touched`) where possible."""
    changed = set(touched)
    problems: list[Problem] = []
    for code in sorted(rows):
        row = rows[code]
        if row.parent_code is None:
            continue
        parent = rows.get(row.parent_code)
        blame = code if code in changed else row.parent_code
        if parent is None:
            problems.append(
                Problem(code, "parent", f"Its 大类 {row.parent_code} is neither in the file nor saved.")
            )
        elif parent.parent_code is not None or parent.kind != row.kind:
            problems.append(Problem(code, "parent", f"{row.parent_code} is not a {row.kind} 大类."))
        elif row.is_active and not parent.is_active:
            problems.append(
                Problem(
                    blame,
                    "is_active",
                    f"小类 {code} would be active under the inactive 大类 {row.parent_code}.",
                )
            )
    first_by_name: dict[tuple[str, str | None, str], str] = {}
    for code in sorted(rows):
        row = rows[code]
        key = (row.kind, row.parent_code, row.name)
        other = first_by_name.setdefault(key, code)
        if other != code:
            blame = code if code in changed or other not in changed else other
            problems.append(
                Problem(blame, "name", f"{other} and {code} are both named {row.name!r} in the same place.")
            )
    return problems

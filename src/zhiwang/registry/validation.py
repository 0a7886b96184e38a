"""Checks of the national codes the registry holds. Pure: no Django, so importers and tools use it.

- Citizen ID numbers (GB 11643): 17 digits and a check character (0-9 or X) over ISO 7064 MOD 11-2,
  with a real birth date in positions 7-14.
- Unified social credit codes (GB 32100): 18 characters from a 31-letter alphabet, the last one a
  check character over MOD 31.
- City component (部件) codes: 16 digits, 6-digit area code + 2-digit major class + 2-digit minor
  class + 6-digit sequence.
"""

from __future__ import annotations

import re
from datetime import date
from operator import mul

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_CREDIT_RE = re.compile(rf"^[{CREDIT_ALPHABET}]{{2}}\d{{6}}[{CREDIT_ALPHABET}]{{10}}$")
_COMPONENT_RE = re.compile(r"^\d{16}$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^0\d{9,11}$")
_PHONE_NOISE = re.compile(r"[\s\-()]")


class CodeError(ValueError):
    """A code that fails its check; `code` is machine-readable, the message is for people."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def id_check_char(first17: str) -> str:
    if len(first17) != len(ID_WEIGHTS):
        raise ValueError("An ID number's check character is computed over 17 digits.")
    return ID_CHECK[sum(map(mul, map(int, first17), ID_WEIGHTS)) % 11]


def normalise_id_number(value: str) -> str:
    return value.strip().upper().replace(" ", "")


def check_id_number(value: str, *, today: date | None = None) -> str:
    """The normalised ID number, or `CodeError` naming what is wrong."""
    number = normalise_id_number(value)
    if not _ID_RE.match(number):
        raise CodeError("An ID number has 17 digits and a check digit (0-9 or X).", "id_format")
    if id_check_char(number[:17]) != number[17]:
        raise CodeError("The ID number's check digit does not match.", "id_check_digit")
    born = id_birth_date(number)
    if born is None or born.year < 1900 or born > (today or date.today()):  # noqa: DTZ011
        raise CodeError("The ID number does not hold a valid birth date.", "id_birth_date")
    return number


def id_birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def id_sex(number: str) -> str:
    """ "M" or "F": the 17th digit is odd for men."""
    return "M" if int(number[16]) % 2 else "F"


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def check_credit_code(value: str) -> str:
    code = value.strip().upper()
    if not _CREDIT_RE.match(code):
        raise CodeError(
            "A unified social credit code has 18 characters (digits and capitals without I, O, S, V, Z).",
            "credit_code_format",
        )
    if credit_check_char(code[:17]) != code[17]:
        raise CodeError(
            "The unified social credit code's check character does not match.", "credit_code_check"
        )
    return code


def check_component_code(value: str) -> str:
    code = value.strip()
    if not _COMPONENT_RE.match(code):
        raise CodeError("A component code has 16 digits.", "component_code_format")
    if code[6:8] == "00" or code[8:10] == "00" or code[10:] == "000000":
        raise CodeError(
            "A component code's major class, minor class and sequence start at 01, 01 and 000001.",
            "component_code_parts",
        )
    return code


def normalise_phone(value: str) -> str:
    """Digits only, without a +86 or 0086 prefix; `CodeError` unless a mobile or landline number."""
    digits = value.strip()
    if not digits.isdigit():
        digits = _PHONE_NOISE.sub("", digits)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not (_MOBILE_RE.match(digits) or _LANDLINE_RE.match(digits)):
        raise CodeError(
            "A phone number is an 11-digit mobile number or a landline with its area code.", "phone"
        )
    return digits


def mask_id_number(number: str) -> str:
    """4419**********1234: the region's first four digits and the last four."""
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(number: str) -> str:
    """138****8000."""
    if len(number) < 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]

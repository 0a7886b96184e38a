"""The national code checks (pure functions)."""

from __future__ import annotations

from datetime import date

import pytest

from zhiwang.registry.validation import (
    CodeError,
    check_component_code,
    check_credit_code,
    check_id_number,
    mask_id_number,
    mask_phone,
    normalise_phone,
)


def test_id_numbers() -> None:
    assert check_id_number(" 11010519491231002x ") == "11010519491231002X"  # the published GB 11643 example
    cases = {
        "11010519491231002": "id_format",
        "110105194912310021": "id_check_digit",
        "110105194902300020": "id_birth_date",  # 30 February, with a correct check digit
    }
    for value, code in cases.items():
        with pytest.raises(CodeError) as caught:
            check_id_number(value)
        assert caught.value.code == code, value
    with pytest.raises(CodeError):
        check_id_number("11010519491231002X", today=date(1949, 12, 30))  # born tomorrow


def test_credit_codes_and_component_codes() -> None:
    assert check_credit_code("91350100m000100y43") == "91350100M000100Y43"
    for value, code in {
        "91350100M000100Y44": "credit_code_check",
        "91350100M000100I43": "credit_code_format",
    }.items():
        with pytest.raises(CodeError) as caught:
            check_credit_code(value)
        assert caught.value.code == code
    assert check_component_code("4419000203000001") == "4419000203000001"
    for value in ("441900020300001", "4419000003000001", "4419000200000001", "4419000203000000"):
        with pytest.raises(CodeError):
            check_component_code(value)


def test_phones_and_masks() -> None:
    assert normalise_phone("+86 138-0013-8000") == "13800138000"
    assert normalise_phone("0769-22223333") == "076922223333"
    with pytest.raises(CodeError):
        normalise_phone("12345")
    assert mask_id_number("441900199003071238") == "4419**********1238"
    assert mask_phone("13800138000") == "138****8000"

"""Field checks: each refusal names the field in Chinese and says what is wrong."""

from __future__ import annotations

import pytest

from engine.accounts import tiers
from engine.accounts import validation as v
from engine.errors import FormInvalid


@pytest.mark.parametrize(
    "value", ["50011619800101123X", "50011619800101123x", " 500116199009093457 ", "11010519491231002X"]
)
def test_valid_resident_ids(value):
    assert v.resident_id(value) == value.strip().upper()


@pytest.mark.parametrize(
    "value,reason",
    [
        ("500116198001011231", "身份证号码：校验位不正确"),
        ("5001161980010112", "身份证号码：应为18位"),
        ("", "身份证号码：必须填写"),
        ("999999198001011233", "身份证号码：前6位地区码无效"),
        ("500116198013011237", "身份证号码：出生日期无效"),
    ],
)
def test_invalid_resident_ids(value, reason):
    with pytest.raises(FormInvalid) as exc:
        v.resident_id(value)
    assert exc.value.errors["id_number"].startswith(reason)


def test_born_before_chongqing_codes_existed_is_accepted():
    # 500116 (江津区) dates from 1997; stdnum alone would refuse a 1980 birth there.
    assert v.resident_id("50011619800101123X")


@pytest.mark.parametrize(
    "value,ok",
    [
        ("91500116MA5U000008", True),
        ("12500116ma5u00020f", True),
        ("91500116MA5U000007", False),
        ("9150011", False),
    ],
)
def test_credit_code(value, ok):
    if ok:
        assert v.credit_code(value) == value.upper()
    else:
        with pytest.raises(FormInvalid) as exc:
            v.credit_code(value)
        assert exc.value.errors["credit_code"].startswith("统一社会信用代码：")


@pytest.mark.parametrize(
    "value,ok",
    [
        ("13800138000", True),
        ("19912345678", True),
        ("12800138000", False),
        ("1380013800", False),
        ("138001380001", False),
    ],
)
def test_mobile(value, ok):
    if ok:
        assert v.mobile(value) == value
    else:
        with pytest.raises(FormInvalid) as exc:
            v.mobile(value)
        assert exc.value.errors["mobile"].startswith("手机号码：")


@pytest.mark.parametrize(
    "value,reason", [("abc123", "至少8位"), ("abcdefgh", "字母和数字"), ("12345678", "字母和数字")]
)
def test_weak_passwords(value, reason):
    with pytest.raises(FormInvalid) as exc:
        v.password(value)
    assert reason in exc.value.errors["password"]


def test_collect_reports_every_field_at_once():
    with pytest.raises(FormInvalid) as exc:
        v.collect(lambda: v.mobile("1"), lambda: v.password("x"), lambda: v.required("ok", "n", "名称"))
    assert set(exc.value.errors) == {"mobile", "password"}


def test_tiers_and_parents_follow_design():
    assert [tiers.tier(t) for t in ("unit", "hr_agency", "municipal_dept", "committee")] == [1, 2, 3, 4]
    assert tiers.PARENT_TYPES["unit"] == ("district_dept", "hr_agency", "municipal_dept")

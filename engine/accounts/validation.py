"""Field checks for accounts. Each raises FormInvalid({field: "中文字段名：原因"}) and returns the clean value."""

from __future__ import annotations

import re
from datetime import date

from stdnum import exceptions as stdnum_errors
from stdnum import numdb
from stdnum.cn import ric, uscc

from engine.errors import FormInvalid
from engine.text import visible_length

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
# Deliberately plain: one @, a dot in the domain, no spaces; the SMTP server is the final judge.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8


def _refuse(field: str, label: str, reason: str) -> FormInvalid:
    return FormInvalid({field: f"{label}：{reason}"})


def resident_id(value: str, field: str = "id_number", label: str = "身份证号码") -> str:
    """A GB 11643 resident ID (18 characters with its check digit); returns it upper-cased."""
    value = (value or "").strip().upper()
    if not value:
        raise _refuse(field, label, "必须填写")
    try:
        return ric.validate(value)
    except stdnum_errors.InvalidLength:
        raise _refuse(field, label, "应为18位") from None
    except stdnum_errors.InvalidChecksum:
        raise _refuse(field, label, "校验位不正确，请核对最后一位") from None
    except stdnum_errors.InvalidComponent:
        return _check_date_and_region(value, field, label)
    except stdnum_errors.ValidationError:
        raise _refuse(field, label, "格式不正确（17位数字加1位数字或X）") from None


def _check_date_and_region(value: str, field: str, label: str) -> str:
    # stdnum also requires the region code to have existed in the birth year. Chongqing's 500xxx codes
    # date from 1997, yet people born earlier hold them (re-issued cards), so we only require that the
    # region code is known at all.
    try:
        ric.get_birth_date(value)
    except stdnum_errors.ValidationError:
        raise _refuse(field, label, "出生日期无效") from None
    if not any(props for _part, props in numdb.get("cn/loc").info(value[:6])):
        raise _refuse(field, label, "前6位地区码无效") from None
    return value


def credit_code(value: str, field: str = "credit_code", label: str = "统一社会信用代码") -> str:
    """A GB 32100 统一社会信用代码 (18 characters with its check character); returns it upper-cased."""
    value = (value or "").strip().upper()
    if not value:
        raise _refuse(field, label, "必须填写")
    try:
        return uscc.validate(value)
    except stdnum_errors.InvalidLength:
        raise _refuse(field, label, "应为18位") from None
    except stdnum_errors.InvalidChecksum:
        raise _refuse(field, label, "校验位不正确，请核对最后一位") from None
    except stdnum_errors.ValidationError:
        raise _refuse(field, label, "格式不正确（不得含字母 I、O、Z、S、V）") from None


def mobile(value: str, field: str = "mobile", label: str = "手机号码") -> str:
    """An 11-digit mainland mobile number."""
    value = (value or "").strip()
    if not MOBILE_RE.match(value):
        raise _refuse(field, label, "应为以1开头的11位手机号码")
    return value


def email(value: str | None, field: str = "email", label: str = "电子邮箱") -> str | None:
    """An e-mail address for reminders, or None when left empty (no e-mail reminders)."""
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > 200 or not EMAIL_RE.match(value):
        raise _refuse(field, label, "格式不正确，应形如 name@example.com；不需要邮件提醒可留空")
    return value


def password(value: str, field: str = "password", label: str = "密码") -> str:
    """At least 8 characters, with both letters and digits."""
    value = value or ""
    if len(value) < MIN_PASSWORD:
        raise _refuse(field, label, f"至少{MIN_PASSWORD}位")
    if not re.search(r"[A-Za-z]", value) or not re.search(r"\d", value):
        raise _refuse(field, label, "须同时包含字母和数字")
    return value


# 15 digits (first-generation cards) or 17 digits plus a digit or X: shaped like a resident ID number.
ID_SHAPED_RE = re.compile(r"^(\d{15}|\d{17}[\dXx])$")


def staff_username(value: str, field: str = "username", label: str = "用户名") -> str:
    """A chosen username for a staff account: not shaped like an ID number (those belong to the person)."""
    value = required(value, field, label, 64)
    if ID_SHAPED_RE.match(value):
        raise _refuse(field, label, "不能使用身份证号码；身份证号码只能由本人注册个人账户时使用")
    return value


def required(value: str | None, field: str, label: str, max_len: int = 200) -> str:
    """A non-empty trimmed text of at most max_len characters."""
    value = (value or "").strip()
    if not visible_length(value):  # zero-width or other invisible characters only
        raise _refuse(field, label, "必须填写")
    if len(value) > max_len:
        raise _refuse(field, label, f"不得超过{max_len}个字")
    return value


def collect(*checks) -> list:
    """Run zero-argument checks, merging every FormInvalid into one so the form shows all errors at once."""
    errors: dict[str, str] = {}
    results = []
    for check in checks:
        try:
            results.append(check())
        except FormInvalid as exc:
            errors.update(exc.errors)
            results.append(None)
    if errors:
        raise FormInvalid(errors)
    return results


def id_particulars(value: str | None) -> tuple[str, date | None]:
    """(性别, 出生日期) read from a resident ID number (GB 11643: 17th digit odd = 男); ("", None) if unreadable.

    Prints show them from the number the person registered with, so the paper cannot disagree with it.
    """
    value = (value or "").strip().upper()
    if len(value) != 18 or not value[:17].isdigit():
        return "", None
    try:
        born = ric.get_birth_date(value)
    except stdnum_errors.ValidationError:
        born = None
    return ("男" if int(value[16]) % 2 else "女"), born

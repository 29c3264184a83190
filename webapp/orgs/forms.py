"""Org forms. Choices are filled by the view; the engine checks every value."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, PasswordField, SelectChoice, SelectField, StringField, TextAreaField

from engine.accounts.tiers import SELF_REGISTERED_TYPES, TYPE_LABELS


def _int_or_none(value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None  # ids past the database's integer range name nothing


class OrgRegisterForm(FlaskForm):
    org_type = SelectField(
        "单位类型",
        choices=[SelectChoice(t, TYPE_LABELS[t]) for t in SELF_REGISTERED_TYPES],
        validate_choice=False,
    )
    name = StringField("单位名称")
    credit_code = StringField("统一社会信用代码", description="18位，见营业执照或事业单位法人证书")
    parent_id = SelectField(
        "上级单位",
        coerce=_int_or_none,
        validate_choice=False,
        description="单位选择区县主管部门、人事代理机构或市级主管部门；区县主管部门选择本区县职改部门",
    )
    district = StringField("所在区县", description="如：江津区；市级主管部门可不填")
    contact_person = StringField("联系人")
    contact_phone = StringField("联系电话")
    certificate = FileField(
        "证照扫描件", description="组织机构代码证或统一社会信用代码证书，PDF、JPEG或PNG，不超过5 MB"
    )
    # the certificate uploaded on an earlier, refused try: kept so it need not be chosen again
    certificate_ref = HiddenField()


class DecisionForm(FlaskForm):
    """Confirm (no fields) or reject (with a reason) a pending binding."""

    reason = TextAreaField("退回原因")


class HrAgencyForm(FlaskForm):
    name = StringField("人事代理机构名称")
    credit_code = StringField("统一社会信用代码", description="可不填")
    contact_person = StringField("联系人")
    contact_phone = StringField("联系电话")
    admin_username = StringField("管理员用户名")
    admin_real_name = StringField("管理员姓名")
    admin_password = PasswordField("管理员初始密码", description="至少8位，须同时包含字母和数字")


class ReviewerForm(FlaskForm):
    username = StringField("用户名或身份证号码", description="已注册的个人用户填身份证号码即可")
    role = SelectField(
        "角色",
        choices=[SelectChoice("reviewer", "审核人员"), SelectChoice("desk", "现场确认人员")],
        validate_choice=False,
    )
    real_name = StringField("姓名", description="仅在创建新账户时填写")
    password = PasswordField("初始密码", description="仅在创建新账户时填写")

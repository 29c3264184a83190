"""Operator forms: deploy a BPMN folder or uploaded files; move the sandbox clock."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, MultipleFileField, StringField


class DeployForm(FlaskForm):
    folder = StringField(
        "BPMN 文件夹（服务器路径）",
        description="包含 *.bpmn、forms/ 和 campaigns/ 的文件夹；上传文件时可留空",
    )
    campaign = StringField("活动文件", description="文件夹内的活动文件，例如 campaigns/cq-2020-senior.toml")
    files = MultipleFileField(
        "或上传文件", description="一次选择全部 .bpmn、表单 .json 和一个活动 .toml 文件"
    )
    replace = BooleanField(
        "替换本批次已部署的流程",
        description="批次编号相同而文件不同时须勾选；新一年的批次请在活动文件中改用新的 id。已有申请书仍按原部署办理",
    )


class ClockForm(FlaskForm):
    target = StringField(
        "拨到指定时间", description="北京时间，格式 2020-11-27 或 2020-11-27 09:00；只能向后拨"
    )


class ResetPasswordForm(FlaskForm):
    username = StringField("用户名或身份证号码")
    new_password = StringField(
        "新密码", description="至少8位，须同时包含字母和数字；该用户所有已登录的会话将失效"
    )


class OneTimePasswordForm(FlaskForm):
    username = StringField(
        "用户名或身份证号码", description="生成一次性密码，只显示一次；本人登录后须立即设置新密码"
    )

"""Reviewer forms other than the task forms (those are rendered from the task's JSON Schema)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, TextAreaField


class BatchApproveForm(FlaskForm):
    items = SelectMultipleField("选择申请书", choices=[], validate_choice=False)
    opinion = TextAreaField(
        "推荐意见（对所选申请书统一填写）", description="至少10个字；每份申请书各自办理，互不影响"
    )

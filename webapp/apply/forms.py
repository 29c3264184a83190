"""Applicant forms other than the declaration itself (that one is rendered from its JSON Schema)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField


class StartForm(FlaskForm):
    campaign_id = SelectField("申报批次", coerce=str, validate_choice=False, description="选择要申报的批次")
    unit_id = SelectField("所在单位", coerce=str, description="选择您的工作单位；申请书将由该单位起逐级审核")

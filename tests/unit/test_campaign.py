"""The campaign file loader: typed values from the 2020 file, and every shape problem reported at once."""

from __future__ import annotations

from datetime import date

import pytest

from engine.campaign import REGISTRATION, check_windows, load_campaign, parse_campaign
from engine.campaign_lint import default_model
from engine.errors import CampaignError, ConfigError
from engine.paths import bpmn_dir

CAMPAIGN_2020 = bpmn_dir() / "campaigns" / "cq-2020-senior.toml"


@pytest.fixture(scope="module")
def campaign():
    return load_campaign(CAMPAIGN_2020)


def test_2020_campaign_loads_typed_values(campaign):
    assert campaign.id == "cq-2020-senior"
    assert campaign.year == 2020
    assert campaign.process_id == "zhicheng_declaration"
    assert campaign.timezone == "Asia/Shanghai"
    assert campaign.notice_number == "渝职改办〔2020〕200号"
    assert campaign.issuer == "重庆市职称改革办公室"
    assert campaign.forwarding[0].number == "津职改办〔2020〕166号"
    assert campaign.forwarding[0].date == date(2020, 11, 19)
    assert [s.code for s in campaign.series] == [
        "senior_engineer_full",
        "senior_economist_full",
        "senior_economist",
    ]
    assert campaign.series_name("senior_economist") == "高级经济师"
    assert campaign.notice_working_days == 5
    assert campaign.repeat_notice_after_return is False
    assert campaign.committee_resubmit_by == date(2020, 12, 20)
    assert campaign.committee_recheck_by == date(2020, 12, 22)
    assert (campaign.fee_cny, campaign.review_form_copies, campaign.notice_form_copies) == (420, 2, 15)
    assert "春华大道99号" in campaign.onsite_address
    assert {c.phone for c in campaign.contacts} >= {
        "023-81803696",
        "023-88152487",
        "023-86868704",
        "47536971",
    }
    assert any(c.email == "252928527@qq.com" for c in campaign.contacts)
    assert campaign.source_path == str(CAMPAIGN_2020)
    assert "[campaign]" in campaign.source_text


@pytest.mark.parametrize(
    ("stage", "opens", "closes"),
    [
        ("registration", date(2020, 10, 20), date(2020, 11, 16)),
        ("applicant_submit", date(2020, 11, 17), date(2020, 11, 23)),
        ("unit_review", date(2020, 11, 17), date(2020, 11, 26)),
        ("unit_report", date(2020, 11, 17), date(2020, 12, 4)),
        ("tier2_review", date(2020, 11, 25), date(2020, 12, 9)),
        ("tier3_review", date(2020, 11, 26), date(2020, 12, 14)),
        ("committee_review", date(2020, 11, 30), date(2020, 12, 17)),
        ("onsite_confirm", date(2020, 12, 23), date(2020, 12, 25)),
    ],
)
def test_2020_windows_are_the_notices(campaign, stage, opens, closes):
    window = campaign.window(stage)
    assert (window.stage, window.opens, window.closes) == (stage, opens, closes)


def test_windows_are_keyed_by_the_bpmn_both_ways(campaign):
    model = default_model(campaign.process_id)
    assert set(campaign.stages) == {REGISTRATION, *model.order}
    assert check_windows(campaign, model) == []
    text = campaign.source_text.replace("[stages.tier3_review]", "[stages.tier3_reveiw]")
    problems = check_windows(parse_campaign(text, source="x.toml"), model)
    by_key = {p.key: p for p in problems}
    assert set(by_key) == {"stages.tier3_reveiw", "stages.tier3_review"}
    typo = by_key["stages.tier3_reveiw"]
    assert "BPMN 中没有 id 为 'tier3_reveiw' 的用户任务；是不是 'tier3_review'" in typo.reason
    assert text.splitlines()[typo.line - 1].startswith("[stages.tier3_reveiw]")
    assert "缺少「" in by_key["stages.tier3_review"].reason
    assert "添加 [stages.tier3_review] 一节" in by_key["stages.tier3_review"].reason


def test_unknown_stage_or_series_names_it(campaign):
    with pytest.raises(ConfigError, match="public_notice_typo"):
        campaign.window("public_notice_typo")
    with pytest.raises(ConfigError, match="senior_teacher"):
        campaign.series_name("senior_teacher")


def test_campaign_is_frozen(campaign):
    with pytest.raises(AttributeError):
        campaign.year = 2021


def test_every_problem_is_reported_at_once_with_file_line_and_key():
    text = CAMPAIGN_2020.read_text(encoding="utf-8")
    text = text.replace("amount_cny = 420", 'amount_cny = "420"').replace(
        'level = "副高级"', 'levle = "副高级"'
    )
    with pytest.raises(CampaignError) as caught:
        parse_campaign(text, source="x.toml")
    keys = {p.key for p in caught.value.problems}
    assert {"fee.amount_cny", "series[2].levle", "series[2].level"} <= keys
    fee = next(p for p in caught.value.problems if p.key == "fee.amount_cny")
    assert text.splitlines()[fee.line - 1].startswith("amount_cny")
    assert (
        f"x.toml:{fee.line}: fee.amount_cny: 应为整数（不加引号），例如 5" in str(caught.value).splitlines()
    )
    assert "是不是 'level'" in str(caught.value)


def test_syntax_error_is_a_problem_not_a_traceback():
    with pytest.raises(CampaignError) as caught:
        parse_campaign("[fee]\namount_cny = 420 yuan\n", source="y.toml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.key) == (2, "fee.amount_cny")
    assert str(problem).startswith("y.toml:2: fee.amount_cny: TOML 语法错误")


def test_missing_file_is_a_campaign_error(tmp_path):
    with pytest.raises(CampaignError, match="无法读取"):
        load_campaign(tmp_path / "nope.toml")


def test_campaign_error_is_a_config_error_and_lists_one_problem_per_line():
    text = CAMPAIGN_2020.read_text(encoding="utf-8")
    text = text.replace('email = "252928527@qq.com"', "").replace(
        'timezone = "Asia/Shanghai"', 'timezone = "Mars/Base"'
    )
    with pytest.raises(ConfigError) as caught:
        parse_campaign(text, source="z.toml")
    assert isinstance(caught.value, CampaignError)
    lines = str(caught.value).splitlines()
    assert len(lines) == len(caught.value.problems) == 2
    assert any(": campaign.timezone: 未知的时区 'Mars/Base'" in line for line in lines)
    assert any(": contacts[3]: 联系方式至少要有 phone 或 email 之一" in line for line in lines)

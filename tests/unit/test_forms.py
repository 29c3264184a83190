"""The shipped JSON-Schema forms and engine.forms: validation messages name the field in Chinese."""

from __future__ import annotations

import copy
import json

import pytest

from engine.errors import ConfigError, FormInvalid
from engine.forms import check_form_schema, form_fields, load_form, load_ui_schema, validate_form
from engine.paths import bpmn_dir

FORMS = ["declaration", "unit_review", "unit_report", "tier_review", "committee_review", "onsite_confirm"]
SHA = "sha256:" + "ab" * 32

VALID_DECLARATION = {
    "series": "senior_engineer_full",
    "title_sought": "正高级工程师",
    "specialty": "土木建筑",
    "current_title": "高级工程师",
    "current_title_date": "2012-12-30",
    "education": "大学本科",
    "graduated_school": "重庆大学",
    "graduation_date": "2000-07-01",
    "years_in_field": 20,
    "work_history": [
        {"from": "2000-07-15", "to": "2010-03-01", "employer": "重庆市某设计院", "position": "结构设计师"},
        {"from": "2010-03-01", "to": "", "employer": "江津区某建设公司", "position": "总工程师"},
    ],
    "achievements": "主持完成江津区滨江路综合改造工程结构设计，获市级优秀设计一等奖。",
    "attachments": {"id_card": SHA, "diploma": SHA, "title_certificate": SHA, "achievement_evidence": [SHA]},
    "pledge_confirmed": True,
}

VALID_REVIEWS = {
    "unit_review": {"decision": "approve", "opinion": "材料真实有效，同意推荐申报。"},
    "unit_report": {"decision": "approve", "opinion": "公示期满无异议，同意上报。"},
    "tier_review": {"decision": "approve", "opinion": "经审核符合申报条件，同意推荐。"},
    "committee_review": {"decision": "approve", "opinion": "材料齐全，符合受理条件。"},
    "onsite_confirm": {
        "decision": "approve",
        "review_form_copies": 2,
        "notice_form_copies": 15,
        "fee_paid": True,
        "receipt_number": "CQ2020-000123",
    },
}


def errors_of(schema, data) -> dict[str, str]:
    with pytest.raises(FormInvalid) as info:
        validate_form(schema, data)
    return info.value.errors


@pytest.mark.parametrize("name", FORMS)
def test_shipped_form_is_valid_schema_with_titles(name):
    schema = load_form(name)
    assert check_form_schema(schema) == []
    assert schema["$schema"].endswith("2020-12/schema")


@pytest.mark.parametrize("name", FORMS)
def test_every_property_has_a_chinese_title(name):
    def walk(schema):
        for prop in schema.get("properties", {}).values():
            assert any("\u4e00" <= ch <= "\u9fff" for ch in prop.get("title", "")), prop
            walk(prop)
            walk(prop.get("items", {}))

    walk(load_form(name))


def test_valid_declaration_passes():
    validate_form(load_form("declaration"), VALID_DECLARATION)


@pytest.mark.parametrize("name", sorted(VALID_REVIEWS))
def test_valid_review_passes(name):
    validate_form(load_form(name), VALID_REVIEWS[name])


def test_pledge_text_is_in_the_schema():
    pledge = load_form("declaration")["properties"]["pledge_confirmed"]
    assert pledge["const"] is True
    assert "真实、准确、完整" in pledge["description"]
    assert "《职称评审管理暂行规定》" in pledge["description"]


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"pledge_confirmed": False}, "pledge_confirmed", "诚信承诺：必须勾选确认"),
        ({"series": "senior_teacher"}, "series", "申报系列：请从以下选项中选择：正高级工程师"),
        (
            {"current_title_date": "2012/12/30"},
            "current_title_date",
            "现职称取得时间：日期格式应为 YYYY-MM-DD",
        ),
        (
            {"current_title_date": "2012-02-30"},
            "current_title_date",
            "现职称取得时间：日期格式应为 YYYY-MM-DD",
        ),
        ({"education": "高中"}, "education", "最高学历：请从以下选项中选择"),
        ({"years_in_field": 61}, "years_in_field", "从事本专业工作年限：不能大于60"),
        ({"years_in_field": -1}, "years_in_field", "从事本专业工作年限：不能小于0"),
        ({"years_in_field": "20"}, "years_in_field", "从事本专业工作年限：应为整数"),
        ({"achievements": "业绩很好"}, "achievements", "主要专业技术业绩成果：至少填写20个字"),
        ({"title_sought": ""}, "title_sought", "申报职称名称：必须填写"),
        ({"graduation_date": ""}, "graduation_date", "毕业时间：必须填写"),
        ({"work_history": []}, "work_history", "工作经历：至少填写1项"),
        (
            {"attachments": {"diploma": SHA, "title_certificate": SHA, "achievement_evidence": [SHA]}},
            "attachments.id_card",
            "身份证复印件：必须上传",
        ),
        (
            {
                "attachments": {
                    "id_card": "sha256:zz",
                    "diploma": SHA,
                    "title_certificate": SHA,
                    "achievement_evidence": [SHA],
                }
            },
            "attachments.id_card",
            "身份证复印件：附件引用无效",
        ),
        (
            {
                "attachments": {
                    "id_card": SHA,
                    "diploma": SHA,
                    "title_certificate": SHA,
                    "achievement_evidence": [],
                }
            },
            "attachments.achievement_evidence",
            "业绩成果佐证材料：至少上传1份",
        ),
    ],
)
def test_declaration_error_names_the_field(change, path, message):
    data = {**copy.deepcopy(VALID_DECLARATION), **change}
    errors = errors_of(load_form("declaration"), data)
    assert errors[path].startswith(message), errors


def test_nested_array_errors_carry_the_item_number():
    data = copy.deepcopy(VALID_DECLARATION)
    data["work_history"][1] = {"from": "2010-03-01", "to": "至今", "position": "总工程师"}
    errors = errors_of(load_form("declaration"), data)
    assert errors["work_history.1.employer"] == "工作经历第2项·工作单位：必须填写"
    assert errors["work_history.1.to"].startswith("工作经历第2项·截止时间：日期格式应为 YYYY-MM-DD")


def test_all_errors_are_collected_at_once():
    errors = errors_of(load_form("declaration"), {})
    assert set(errors) == set(load_form("declaration")["required"])
    assert "notes" not in errors


@pytest.mark.parametrize(
    ("name", "negative"),
    [
        ("unit_review", "return"),
        ("unit_report", "not_recommend"),
        ("tier_review", "return"),
        ("committee_review", "return"),
    ],
)
def test_reason_on_return_opinion_on_approval(name, negative):
    schema = load_form(name)
    validate_form(schema, VALID_REVIEWS[name])
    errors = errors_of(schema, {"decision": negative, "opinion": "材料不全，需要补正后再报。"})
    assert list(errors) == ["reason"]
    assert errors["reason"].endswith("：必须填写")
    validate_form(
        schema, {"decision": negative, "opinion": "材料不全，需要补正后再报。", "reason": "缺学历证书"}
    )
    # an approval needs a 10-character opinion; a return (or 不予上报) needs only its reason (issue 11)
    validate_form(schema, {"decision": negative, "reason": "缺学历证书"})
    validate_form(schema, {"decision": negative, "opinion": "短", "reason": "缺学历证书"})
    missing = errors_of(schema, {"decision": "approve"})
    assert list(missing) == ["opinion"] and missing["opinion"].endswith("：必须填写")
    short = errors_of(schema, {"decision": "approve", "opinion": "同意"})
    assert list(short) == ["opinion"] and short["opinion"].endswith("至少填写10个字")
    assert list(errors_of(schema, {})) == ["decision"]


def test_opinion_needs_ten_characters():
    errors = errors_of(load_form("unit_review"), {"decision": "approve", "opinion": "同意"})
    assert errors == {"opinion": "推荐意见：至少填写10个字"}


def test_unknown_decision_is_refused_with_options():
    errors = errors_of(
        load_form("unit_report"), {"decision": "return", "opinion": "材料齐全同意上报主管部门"}
    )
    assert errors["decision"] == "审核结果：请从以下选项中选择：上报主管部门、不予上报"


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"review_form_copies": 1}, "review_form_copies", "收到评审表份数：不能小于2"),
        ({"notice_form_copies": 14}, "notice_form_copies", "收到公示表份数：不能小于15"),
        ({"fee_paid": False}, "fee_paid", "已缴纳评审费：必须勾选确认"),
        ({"receipt_number": "12"}, "receipt_number", "缴费票据号：应为6至32位"),
        ({"decision": "return"}, "decision", "确认结果：请从以下选项中选择：确认收到材料并缴费"),
    ],
)
def test_onsite_confirm_errors(change, path, message):
    errors = errors_of(load_form("onsite_confirm"), {**VALID_REVIEWS["onsite_confirm"], **change})
    assert errors[path].startswith(message)


def test_form_fields_follow_ui_order_and_carry_widgets():
    fields = form_fields(load_form("declaration"), load_ui_schema("declaration"))
    names = [f.name for f in fields]
    assert names[0] == "series" and names[-1] == "pledge_confirmed"
    by_name = {f.name: f for f in fields}
    assert by_name["series"].options[0] == ("senior_engineer_full", "正高级工程师")
    assert by_name["achievements"].widget == "textarea"
    assert by_name["current_title_date"].widget == "date"
    assert by_name["notes"].required is False and by_name["series"].required is True
    assert "诚信承诺书" in by_name["pledge_confirmed"].description
    attachments = {f.name: f for f in by_name["attachments"].fields}
    assert attachments["attachments.id_card"].widget == "file"
    assert attachments["attachments.achievement_evidence"].multiple is True
    assert [f.name for f in by_name["work_history"].fields][0] == "work_history.*.from"


def test_form_fields_without_ui_schema_use_schema_order_and_default_widgets():
    fields = form_fields(load_form("unit_review"))
    assert [f.name for f in fields] == ["decision", "opinion", "reason"]
    assert fields[0].widget == "select"
    assert fields[0].options == (("approve", "审核通过，打印公示表"), ("return", "退回补正"))


def test_check_form_schema_reports_bad_schema_and_missing_title():
    assert check_form_schema({"type": "objekt"})
    problems = check_form_schema(
        {"type": "object", "additionalProperties": False, "properties": {"x": {"type": "string"}}}
    )
    assert problems == ["properties/x: 缺少中文 title"]


def test_a_schema_must_refuse_undeclared_fields_and_never_declare_engine_variables():
    problems = check_form_schema(
        {
            "type": "object",
            "properties": {
                "decision": {"title": "审核结果", "type": "string"},
                "return_stage": {"title": "退回环节", "type": "string"},
                "unit_review_completed_at": {"title": "完成时间", "type": "string"},
            },
        }
    )
    assert problems == [
        '(根): 缺少 "additionalProperties": false（表单只能提交其声明的字段）',
        "properties/return_stage: return_stage 是流程引擎设置的变量，表单不能声明（见 engine/variables.py）",
        "properties/unit_review_completed_at: unit_review_completed_at 是流程引擎设置的变量，"
        "表单不能声明（见 engine/variables.py）",
    ]


@pytest.mark.parametrize("name", FORMS)
def test_every_shipped_form_refuses_undeclared_fields(name):
    assert load_form(name).get("additionalProperties") is False


@pytest.mark.parametrize("extra", ["has_tier2", "return_stage", "notice_done", "unit_review_completed_at"])
def test_extra_fields_are_refused_naming_the_field(extra):
    data = {**VALID_REVIEWS["unit_review"], extra: "x"}
    with pytest.raises(FormInvalid) as info:
        validate_form(load_form("unit_review"), data)
    assert info.value.errors == {extra: f"{extra}：表单中没有此项，不能提交（流程变量只能由系统设置）"}


def test_extra_fields_are_refused_even_when_a_schema_allows_them():
    lax = {"type": "object", "properties": {"a": {"title": "甲", "type": "string"}}}
    with pytest.raises(FormInvalid) as info:
        validate_form(lax, {"a": "x", "has_tier2": False})
    assert list(info.value.errors) == ["has_tier2"]


def test_extra_fields_inside_a_nested_object_are_refused():
    data = copy.deepcopy(VALID_DECLARATION)
    data["attachments"]["photo"] = SHA
    with pytest.raises(FormInvalid) as info:
        validate_form(load_form("declaration"), data)
    assert list(info.value.errors) == ["attachments.photo"]


def test_load_form_from_a_folder_and_errors(tmp_path):
    (tmp_path / "ok.schema.json").write_text(
        json.dumps(
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {"a": {"title": "甲", "type": "string"}},
            }
        ),
        encoding="utf-8",
    )
    (tmp_path / "broken.schema.json").write_text("{not json", encoding="utf-8")
    assert load_form("ok", tmp_path)["properties"]["a"]["title"] == "甲"
    assert load_ui_schema("ok", tmp_path) == {}
    with pytest.raises(ConfigError, match="不是合法的 JSON"):
        load_form("broken", tmp_path)
    with pytest.raises(ConfigError, match="表单文件不存在"):
        load_form("absent", tmp_path)


def test_default_forms_dir_is_next_to_the_bpmn():
    assert (bpmn_dir() / "forms" / "declaration.schema.json").exists()


def test_the_bpmn_documents_every_engine_variable():
    from lxml import etree

    from engine.variables import COMPLETED_AT_SUFFIX, ENGINE_VARIABLES

    tree = etree.parse(str(bpmn_dir() / "declaration.bpmn"))
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    text = tree.find("bpmn:process/bpmn:documentation", ns).text
    for name in [*ENGINE_VARIABLES, COMPLETED_AT_SUFFIX]:
        assert name in text, name


def test_the_engine_sets_only_the_variables_it_lists():
    from datetime import datetime

    from calendars import TZ
    from engine.clock import SimulatedClock
    from engine.deployment import load_deployment
    from engine.runtime import Application
    from engine.variables import ENGINE_VARIABLES

    clock = SimulatedClock(datetime(2020, 11, 17, 9, tzinfo=TZ))
    app = Application.start(
        load_deployment(),
        clock,
        applicant_id=1,
        chain={"unit": 1, "tier2": 2, "tier3": 3, "committee": 4},
        committees={"senior_engineer_full": 4},
    )
    assert set(app.data) == set(ENGINE_VARIABLES)

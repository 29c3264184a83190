"""The printed 评审表 and 公示表: particulars from the ID number, opinions by round (latest first) with a
signature/stamp block for those in force, and the 公示时间 filled from the approval to the notice's last day."""

from __future__ import annotations

from datetime import date

from stdnum.cn import ric
from workflow_fixtures import beijing

from engine.accounts.models import User
from engine.accounts.validation import id_particulars
from webapp.extensions import db

ID_BODY = "50011619780512003"  # born 1978-05-12; the 17th digit 3 is odd: 男
RETURN_REASON = "请补充项目竣工验收证明。"


def _with_id_number(wf, username="applicant") -> str:
    number = ID_BODY + ric.calc_check_digit(ID_BODY + "0")
    with wf.app.app_context():
        db.session.query(User).filter_by(username=username).update({"id_number": number})
        db.session.commit()
    return number


def test_sex_and_birth_date_come_from_the_id_number():
    number = ID_BODY + ric.calc_check_digit(ID_BODY + "0")
    assert id_particulars(number) == ("男", date(1978, 5, 12))
    female = "50011619800101002"
    assert id_particulars(female + ric.calc_check_digit(female + "0"))[0] == "女"
    assert id_particulars("") == ("", None) and id_particulars("12345") == ("", None)


def test_prints_show_particulars_rounds_latest_first_and_the_notice_period(wf):
    number = _with_id_number(wf)
    app_id = wf.start()
    assert wf.submit(app_id).status_code == 302
    unit = wf.orgs["unit_a"]
    wf.move_to(beijing(2020, 11, 19, 10))
    assert (
        wf.act(
            "unit_a", "unit_a", app_id, "unit_review", opinion="第一轮单位推荐意见，同意推荐。"
        ).status_code
        == 302
    )
    # printed by the unit while the notice runs: 11-19 + 5 working days ends at 24:00 on 11-26
    notice = wf.client("unit_a").get(f"/review/{unit}/app/{app_id}/print/notice_form").get_data(as_text=True)
    assert "公示时间：2020年11月19日至2020年11月26日" in notice
    assert number in notice and "1978年5月12日" in notice and "男" in notice and "高级工程师" in notice

    wf.move_to(beijing(2020, 11, 27, 9))
    assert wf.act("unit_a", "unit_a", app_id, "unit_report").status_code == 302
    returned = wf.act(
        "dept", "dept", app_id, "tier2_review", decision="return", opinion="", reason=RETURN_REASON
    )
    assert returned.status_code == 302, returned.get_data(as_text=True)  # a return needs no 推荐意见
    assert (
        wf.submit(
            app_id, achievements="补正后的业绩：主持完成江津区滨江路改造工程并通过竣工验收。"
        ).status_code
        == 302
    )
    for who, org, stage in (
        ("unit_a", "unit_a", "unit_review"),
        ("unit_a", "unit_a", "unit_report"),
        ("dept", "dept", "tier2_review"),
        ("office", "office", "tier3_review"),
    ):
        assert wf.act(who, org, app_id, stage, opinion=f"第二轮{stage}意见，同意推荐。").status_code == 302
    wf.move_to(beijing(2020, 11, 30, 9))
    assert (
        wf.act(
            "committee", "committee", app_id, "committee_review", opinion="第二轮评委会意见，同意受理。"
        ).status_code
        == 302
    )

    html = wf.client("applicant").get(f"/apply/{app_id}/print/review_form").get_data(as_text=True)
    for text in (number, "1978年5月12日", "男", "江津建设公司", "正高级工程师", "高级工程师"):
        assert text in html
    # round 2 (latest) first, its opinions in force with a signature/stamp block each; round 1 listed after
    r2, r1 = html.index("第2轮审核"), html.index("第1轮审核")
    assert r2 < r1
    assert html.count('class="opinion-block"') == 5 and html[r2:r1].count('class="opinion-block"') == 5
    assert html.count("负责人签字") == 5 and "（盖章）" in html
    assert "第二轮tier3_review意见" in html[r2:r1] and "第二轮评委会意见" in html[r2:r1]
    assert RETURN_REASON in html[r1:] and "第一轮单位推荐意见" in html[r1:]
    assert "审核人：住建委审核员" in html and "审核日期：2020年11月30日" in html
    notice = wf.client("applicant").get(f"/apply/{app_id}/print/notice_form").get_data(as_text=True)
    assert "公示时间：2020年11月19日至2020年11月26日" in notice  # the notice is not repeated after the return

"""The demo world: an org tree for the 2020 campaign and an account for every role (sandbox only)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc
from werkzeug.security import generate_password_hash

from .accounts import people
from .accounts.models import Membership, Org, User

DEMO_PASSWORD = "demo1234"


@dataclass(frozen=True)
class DemoAccount:
    role: str
    username: str
    name: str
    org: str
    try_this: str


def _id_number(seq: int) -> str:
    body = f"5001161975031{seq:04d}"[:17]
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check position


def _credit_code(seq: int) -> str:
    body = f"91500116MA5U{seq:05d}"
    return body + uscc.calc_check_digit(body)


def seed_demo(session: Session, clock) -> list[DemoAccount]:
    """Create the demo org tree and accounts; return the accounts to print."""
    now = clock.now()
    orgs: dict[str, Org] = {}

    def org(key, org_type, name, parent=None, district=None, series=None, code=True, contact="张老师"):
        o = Org(
            type=org_type,
            name=name,
            parent_id=orgs[parent].id if parent else None,
            status="active",
            district=district,
            series_codes=series,
            contact_person=contact,
            contact_phone=f"023-4753{len(orgs):04d}",
            created_at=now,
            credit_code=_credit_code(len(orgs) + 1) if code else None,
        )
        session.add(o)
        session.flush()
        orgs[key] = o
        return o

    org(
        "committee_eng",
        "committee",
        "重庆市正高级工程师评审委员会",
        series="senior_engineer_full",
        code=False,
    )
    org(  # one committee serving both economist series: the series decides, not the org tree
        "committee_econ",
        "committee",
        "重庆市经济系列高级职称评审委员会",
        series="senior_economist_full,senior_economist",
        code=False,
    )
    org("city_hr", "city_hr_office", "重庆市职称改革办公室", code=False, contact="市职改办")
    org(
        "jj_hr",
        "district_hr_office",
        "江津区人力资源和社会保障局（区职改办）",
        "committee_eng",
        "江津区",
        code=False,
    )
    org("jj_dept", "district_dept", "江津区住房和城乡建设委员会", "jj_hr", "江津区")
    org("jj_agency", "hr_agency", "江津区人才交流服务中心（人事代理）", "jj_hr", "江津区", code=False)
    org("city_dept", "municipal_dept", "重庆市国有资产监督管理委员会", "committee_eng")
    org("unit_a", "unit", "重庆市江津区建设工程有限公司", "jj_dept", "江津区", contact="李主任")
    org("unit_b", "unit", "江津区德感工业园区开发公司", "jj_dept", "江津区")
    org("unit_c", "unit", "江津区某民营科技企业（人事代理）", "jj_agency", "江津区")
    org("unit_m", "unit", "重庆某国有企业集团有限公司", "city_dept")

    accounts: list[DemoAccount] = []
    pw = generate_password_hash(DEMO_PASSWORD, method=people.PASSWORD_HASH_METHOD)

    def user(username, name, role_label, org_key=None, role=None, try_this="", **flags):
        u = User(
            username=username, real_name=name, password_hash=pw, created_at=now, mobile="13800000000", **flags
        )
        if username[:6].isdigit():
            u.id_number = username
        session.add(u)
        session.flush()
        if org_key:
            session.add(Membership(user_id=u.id, org_id=orgs[org_key].id, role=role))
        accounts.append(
            DemoAccount(role_label, username, name, orgs[org_key].name if org_key else "", try_this)
        )
        return u

    user(
        _id_number(1),
        "王建国",
        "申报人",
        try_this="我的申请书 → 新建申报，填写并提交（单位：江津区建设工程有限公司）",
    )
    user(_id_number(2), "刘芳", "申报人", try_this="市级主管部门下属单位的申报人（无二级审核）")
    user(_id_number(3), "陈晓", "申报人", try_this="人事代理人员，由人事代理机构二级审核")
    user(
        _id_number(4),
        "周敏",
        "申报人（经济系列）",
        try_this="申报系列选「正高级经济师」：江津区上报后由经济系列评委会受理",
    )
    user(
        "unit_a_admin",
        "李主任",
        "单位管理员",
        "unit_a",
        "admin",
        "申请书审核：审核通过并打印公示表；公示期满后上报",
    )
    user("unit_m_admin", "赵主任", "单位管理员", "unit_m", "admin")
    user("unit_c_admin", "周主任", "单位管理员", "unit_c", "admin")
    user("jj_dept_admin", "孙科长", "区县主管部门", "jj_dept", "admin", "二级审核：审核通过上报或退回补正")
    user("jj_agency_admin", "吴科长", "区县人事代理机构", "jj_agency", "admin")
    user("jj_hr_admin", "郑科长", "区县职改部门", "jj_hr", "admin", "三级审核；创建人事代理机构")
    user("city_dept_admin", "钱处长", "市级主管部门", "city_dept", "admin")
    user("committee_staff", "冯老师", "评委会工作人员", "committee_eng", "reviewer", "评委会审核受理或退回")
    user(
        "committee_desk",
        "卫老师",
        "评委会现场确认",
        "committee_eng",
        "desk",
        "12月23—25日：登记纸质材料与缴费",
    )
    user("econ_staff", "蒋老师", "经济系列评委会", "committee_econ", "reviewer", "经济系列申报书的审核受理")
    user("econ_desk", "沈老师", "经济系列现场确认", "committee_econ", "desk")
    user(
        "city_hr_admin",
        "韩处长",
        "市职改办",
        "city_hr",
        "admin",
        "统计分析：全市各环节数量、临近截止、逾期失效、图表与导出",
    )
    user(
        "operator",
        "系统运维",
        "系统管理员/政策人员",
        try_this="部署活动、管理机构树、沙盒时钟",
        is_operator=True,
    )
    user("auditor", "审计员", "审计人员", try_this="审计：时间线、重放核验", is_auditor=True)
    session.flush()
    return accounts

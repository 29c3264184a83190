"""我的单位 through the web: registration with certificate upload, binding, HR agencies, reviewers, CLI."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

from sqlalchemy import select

from engine.accounts.models import Membership, Org
from webapp.cli.org import org_cli, user_cli
from webapp.extensions import db

UPLOADS = Path(__file__).resolve().parents[1] / "data" / "uploads"
ID_A, ID_B = "50011619800101123X", "500116198505052342"
CODE_A, CODE_B = "91500116MA5U000008", "91500116MA5U000109"
PW = "secret123"


def org_form(
    parent_id,
    *,
    file="certificate.png",
    name="江津区经信委",
    code=CODE_A,
    org_type="district_dept",
    data: bytes | None = None,
):
    content = data if data is not None else (UPLOADS / file).read_bytes()
    return {
        "org_type": org_type,
        "name": name,
        "credit_code": code,
        "parent_id": str(parent_id),
        "district": "江津区",
        "contact_person": "王五",
        "contact_phone": "023-47536971",
        "certificate": (io.BytesIO(content), file),
    }


def register_dept(auth, post, tree, **kw):
    auth.register()
    return post("/orgs/register", org_form(tree["office"], **kw), content_type="multipart/form-data")


def _org(app, **where):
    with app.app_context():
        return db.session.scalars(select(Org).filter_by(**where)).one_or_none()


def test_register_org_lists_parents_and_stores_certificate(app, client, auth, post, tree):
    auth.register()
    page = client.get("/orgs/register").get_data(as_text=True)
    assert "江津区职改办（区县人事（职改）部门，江津区）" in page and '<label for="certificate"' in page
    response = post("/orgs/register", org_form(tree["office"]), content_type="multipart/form-data")
    assert response.status_code == 302
    org = _org(app, credit_code=CODE_A)
    assert org.status == "pending" and org.district == "江津区"
    stored = Path(app.config["UPLOAD_DIR"]) / org.certificate_sha256[:2] / org.certificate_sha256[2:]
    assert stored.read_bytes() == (UPLOADS / "certificate.png").read_bytes()
    assert "待上级确认" in client.get("/orgs/").get_data(as_text=True)


def test_png_named_pdf_is_stored_as_png(app, client, auth, post, tree):
    assert register_dept(auth, post, tree, file="png-named.pdf").status_code == 302
    org = _org(app, credit_code=CODE_A)
    auth.logout()
    auth.login("jj_office")
    response = client.get(f"/orgs/{org.id}/certificate")
    assert response.status_code == 200 and response.mimetype == "image/png"


def test_text_file_named_pdf_refused_naming_the_field(app, auth, post, tree):
    response = register_dept(auth, post, tree, file="text-named.pdf")
    assert response.status_code == 422
    assert "证照扫描件：只能上传 PDF、JPEG 或 PNG 文件" in response.get_data(as_text=True)
    assert _org(app, credit_code=CODE_A) is None


def test_file_over_five_megabytes_refused(app, auth, post, tree):
    big = (UPLOADS / "certificate.pdf").read_bytes() + b"0" * (5 * 1024 * 1024)
    response = register_dept(auth, post, tree, file="big.pdf", data=big)
    assert response.status_code == 422
    assert "超过单个文件 5 MB 的上限" in response.get_data(as_text=True)


def test_oversized_request_refused_with_413(make_app, make_auth):
    app = make_app(MAX_CONTENT_LENGTH=64 * 1024)
    client = app.test_client()
    make_auth(client).register()
    response = client.post(
        "/orgs/register",
        data={"certificate": (io.BytesIO(b"%PDF" + b"0" * 100_000), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "上传内容过大" in response.get_data(as_text=True)


def test_bad_credit_code_and_duplicate_refused(app, client, auth, post, tree):
    bad = register_dept(auth, post, tree, code="91500116MA5U000007")
    assert bad.status_code == 422 and "统一社会信用代码：校验位不正确" in bad.get_data(as_text=True)
    assert (
        post("/orgs/register", org_form(tree["office"]), content_type="multipart/form-data").status_code
        == 302
    )
    dup = post("/orgs/register", org_form(tree["office"], name="另一个"), content_type="multipart/form-data")
    assert dup.status_code == 422 and "统一社会信用代码：已由“江津区经信委”注册" in dup.get_data(as_text=True)


def test_parent_admin_confirms_and_registrant_becomes_admin(app, client, auth, post, tree):
    register_dept(auth, post, tree)
    org = _org(app, credit_code=CODE_A)
    auth.logout()
    auth.login("jj_office")
    page = client.get(f"/orgs/{tree['office']}/pending").get_data(as_text=True)
    assert "江津区经信委" in page and CODE_A in page
    response = post(f"/orgs/{org.id}/confirm", {}, token_from=f"/orgs/{tree['office']}/pending")
    assert response.status_code == 302
    assert _org(app, id=org.id).status == "active"
    auth.logout()
    auth.login(ID_A)
    assert "人员管理（江津区经信委）" in client.get("/").get_data(as_text=True)


def test_confirm_by_someone_not_the_parents_admin_refused_and_nothing_changes(app, client, auth, post, tree):
    register_dept(auth, post, tree)
    org = _org(app, credit_code=CODE_A)
    for who in (ID_A, "yb_office", "committee"):
        auth.logout()
        auth.login(who)
        response = post(f"/orgs/{org.id}/confirm", {}, token_from="/")
        assert response.status_code == 403
        assert "只有上级单位的管理员可以审核" in response.get_data(as_text=True)
    assert _org(app, id=org.id).status == "pending"
    with app.app_context():
        assert db.session.scalars(select(Membership).where(Membership.org_id == org.id)).all() == []
    assert client.get(f"/orgs/{tree['office']}/pending").status_code == 403


def test_reject_with_reason_shown_to_registrant(app, client, auth, post, tree):
    register_dept(auth, post, tree)
    org = _org(app, credit_code=CODE_A)
    auth.logout()
    auth.login("jj_office")
    empty = post(f"/orgs/{org.id}/reject", {"reason": ""}, token_from="/")
    assert empty.status_code == 422 and "退回原因：必须填写" in empty.get_data(as_text=True)
    assert post(f"/orgs/{org.id}/reject", {"reason": "证照模糊"}, token_from="/").status_code == 302
    again = post(f"/orgs/{org.id}/confirm", {}, token_from="/")
    assert again.status_code == 409
    auth.logout()
    auth.login(ID_A)
    page = client.get("/orgs/").get_data(as_text=True)
    assert "已退回" in page and "证照模糊" in page


def test_hr_office_admin_creates_agency_and_its_admin_logs_in(app, client, auth, post, tree):
    auth.login("jj_office")
    path = f"/orgs/{tree['office']}/agencies"
    response = post(
        path,
        {
            "name": "江津区人才交流中心",
            "credit_code": "",
            "contact_person": "李",
            "contact_phone": "023-1",
            "admin_username": "jj_agency",
            "admin_real_name": "李四",
            "admin_password": PW,
        },
    )
    assert response.status_code == 302
    assert "江津区人才交流中心" in client.get(path).get_data(as_text=True)
    agency = _org(app, name="江津区人才交流中心")
    assert (agency.type, agency.parent_id, agency.status) == ("hr_agency", tree["office"], "active")
    auth.logout()
    assert auth.login("jj_agency").status_code == 302


def test_other_districts_office_admin_cannot_create_agency_under_yours(app, client, auth, post, tree):
    auth.login("yb_office")
    path = f"/orgs/{tree['office']}/agencies"
    assert client.get(path).status_code == 403
    response = post(
        path,
        {"name": "冒名机构", "admin_username": "fake", "admin_real_name": "x", "admin_password": PW},
        token_from="/",
    )
    assert response.status_code == 403
    assert _org(app, name="冒名机构") is None


def test_weak_agency_admin_password_rerenders_form(client, auth, post, tree):
    auth.login("jj_office")
    response = post(
        f"/orgs/{tree['office']}/agencies",
        {"name": "中心", "admin_username": "a1", "admin_real_name": "x", "admin_password": "weak"},
    )
    assert response.status_code == 422 and "密码：至少8位" in response.get_data(as_text=True)


def test_org_admin_adds_existing_person_as_reviewer(client, auth, post, tree, make_auth):
    auth.register(id_number=ID_B, real_name="赵六")
    auth.logout()
    auth.login("jj_office")
    path = f"/orgs/{tree['office']}/members"
    response = post(path, {"username": ID_B, "role": "reviewer", "real_name": "", "password": ""})
    assert response.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "赵六" in page and "审核人员" in page
    auth.logout()
    auth.login(ID_B)
    assert client.get(path).status_code == 403  # reviewers do not manage members


def test_cli_create_preset_and_list(app, runner):
    result = runner.invoke(
        org_cli,
        args=[
            "create-preset",
            "--type",
            "committee",
            "--name",
            "经济系列评委会",
            "--admin-username",
            "eco",
            "--admin-password",
            PW,
            "--series",
            "ECO",
        ],
    )
    assert result.exit_code == 0, result.output
    committee_id = result.output.split("\t")[0]
    result = runner.invoke(
        org_cli,
        args=[
            "create-preset",
            "--type",
            "district_hr_office",
            "--name",
            "江津区职改办",
            "--admin-username",
            "jj",
            "--admin-password",
            PW,
            "--parent",
            committee_id,
            "--district",
            "江津区",
        ],
    )
    assert result.exit_code == 0, result.output
    listing = runner.invoke(org_cli, args=["list"]).output
    assert "评委会 经济系列评委会" in listing and "\n  " in listing and "江津区" in listing
    bad = runner.invoke(
        org_cli,
        args=[
            "create-preset",
            "--type",
            "unit",
            "--name",
            "x",
            "--admin-username",
            "u",
            "--admin-password",
            PW,
        ],
    )
    assert bad.exit_code == 1 and "上级单位" in bad.output


def test_cli_creates_operator_and_auditor(app, runner):
    assert (
        runner.invoke(
            user_cli, args=["create-operator", "--username", "op", "--real-name", "运维", "--password", PW]
        ).exit_code
        == 0
    )
    assert (
        runner.invoke(
            user_cli, args=["create-auditor", "--username", "au", "--real-name", "审计", "--password", PW]
        ).exit_code
        == 0
    )
    dup = runner.invoke(
        user_cli, args=["create-operator", "--username", "op", "--real-name", "x", "--password", PW]
    )
    assert dup.exit_code == 1 and "已注册" in dup.output


def test_upload_helper_is_content_addressed(tmp_path):
    from webapp.uploads import store_bytes

    data = (UPLOADS / "certificate.pdf").read_bytes()
    first = store_bytes(data, tmp_path, field="f", label="附件", max_bytes=1024)
    again = store_bytes(data, tmp_path, field="f", label="附件", max_bytes=1024)
    assert first == again and first.mime == "application/pdf" and first.size == len(data)
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    assert (tmp_path / first.sha256[:2] / first.sha256[2:]).exists()


# ---- issue 11: every error on one try, the upload kept, only valid parents offered ------------------------


def _option(page: str, org_name: str) -> str:
    """The <option …> tag of an org in the parent list."""
    match = re.search(r"<option[^>]*>" + re.escape(org_name) + "（", page)
    assert match, f"{org_name} is not in the parent list"
    return match.group(0)


def test_every_field_error_shows_at_once_with_the_typed_values(app, auth, post, tree):
    auth.register()
    data = {
        **org_form(tree["office"], file="text-named.pdf", code="91500116MA5U000007"),
        "contact_person": "",
    }
    response = post("/orgs/register", data, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in (
        "证照扫描件：只能上传 PDF、JPEG 或 PNG 文件",
        "统一社会信用代码：校验位不正确",
        "联系人：必须填写",
    ):
        assert message in page
    assert 'value="江津区经信委"' in page and 'value="023-47536971"' in page  # what was typed stays
    # the summary names each problem and links to its field, and is focusable (static/forms.js focuses it)
    assert 'class="form-errors" role="alert" tabindex="-1" autofocus' in page and "共 3 处" in page
    for field in ("certificate", "credit_code", "contact_person"):
        assert f'href="#{field}"' in page
    assert _org(app, name="江津区经信委") is None


def test_a_valid_upload_is_kept_when_other_fields_are_refused(app, auth, post, tree):
    auth.register()
    first = post(
        "/orgs/register",
        org_form(tree["office"], code="91500116MA5U000007"),
        content_type="multipart/form-data",
    )
    page = first.get_data(as_text=True)
    assert first.status_code == 422 and "已上传：certificate.png" in page
    sha = re.search(r'name="certificate_ref" type="hidden" value="([0-9a-f]{64})"', page).group(1)
    again = {**org_form(tree["office"]), "certificate_ref": sha}
    del again["certificate"]
    assert post("/orgs/register", again, content_type="multipart/form-data").status_code == 302
    assert _org(app, credit_code=CODE_A).certificate_sha256 == sha


def test_a_certificate_ref_someone_else_uploaded_is_not_kept(app, client, auth, post, tree, make_auth):
    register_dept(auth, post, tree)
    sha = _org(app, credit_code=CODE_A).certificate_sha256
    auth.logout()
    make_auth(client).register(id_number=ID_B, real_name="李四")
    data = {**org_form(tree["office"], code=CODE_B), "certificate_ref": sha}
    del data["certificate"]
    response = post("/orgs/register", data, content_type="multipart/form-data")
    assert response.status_code == 422 and "证照扫描件：必须上传" in response.get_data(as_text=True)
    assert _org(app, credit_code=CODE_B) is None


def test_parent_list_offers_only_parents_of_the_chosen_type(client, auth, post, tree):
    auth.register()
    page = client.get("/orgs/register").get_data(as_text=True)  # 单位 is chosen first
    assert "orgs.js" in page
    for name in ("工程系列评委会", "江津区职改办"):  # a committee or an HR office never parents a unit
        assert "hidden" in _option(page, name) and "disabled" in _option(page, name)
    assert 'data-for="unit"' in _option(page, "市经信委") and "hidden" not in _option(page, "市经信委")
    refused = post(
        "/orgs/register",
        {**org_form(tree["committee"], org_type="municipal_dept", code=CODE_B), "name": ""},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "hidden" not in _option(
        refused, "工程系列评委会"
    )  # a municipal department's parent is a committee
    assert "hidden" in _option(refused, "江津区职改办") and "hidden" in _option(refused, "市经信委")

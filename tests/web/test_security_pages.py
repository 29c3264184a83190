"""Issue 12: headers and CSP, uploads (active PDFs, polyglots, names, caching), NUL and invisible input,
Chinese 400/405/413 pages, out-of-range ids and bad filters answered without a 500."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject
from sqlalchemy import select
from workflow_fixtures import UPLOADS, page_token

from engine.store import queries
from engine.store.tables import Attachment
from webapp.extensions import db

TEMPLATES = Path(__file__).resolve().parents[2] / "webapp" / "templates"
HUGE = "99999999999999999999"


# ---- 8. headers ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/auth/login", "/nowhere", "/static/site.css"])
def test_every_response_carries_the_security_headers(client, path):
    r = client.get(path)
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert "Server" not in r.headers


def test_no_template_has_inline_script_or_event_handlers():
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert not re.search(r"\son[a-z]+\s*=", text), path
        assert not re.search(r"\sstyle\s*=|<style", text), path  # style-src 'self' blocks inline styles too


def test_development_server_does_not_announce_its_version():
    from webapp.security import QuietRequestHandler

    assert "Python" not in QuietRequestHandler.version_string(object.__new__(QuietRequestHandler))


def test_session_cookie_is_secure_when_configured_for_https(make_app, make_auth):
    plain = make_app().test_client()
    make_auth(plain).register()
    assert not plain.get_cookie("session").secure
    https = make_app(ZHICHENG_HTTPS=True).test_client()
    https.get("/auth/login", base_url="https://localhost")
    assert https.get_cookie("session").secure


# ---- 10. uploads --------------------------------------------------------------------------------------------
def _pdf(mutate=None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    if mutate:
        mutate(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _launch(writer):
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
    )


ACTIVE = {
    "javascript": lambda w: w.add_js("app.alert('x');"),
    "launch": _launch,
    "embedded": lambda w: w.add_attachment("payload.exe", b"MZ..."),
}


@pytest.mark.parametrize("kind", sorted(ACTIVE))
def test_pdf_with_active_content_is_refused(wf, kind):
    app_id = wf.start()
    data = _pdf(ACTIVE[kind])
    r = wf.submit(app_id, **{"attachments.diploma__file": (io.BytesIO(data), "diploma.pdf")})
    assert r.status_code == 422 and "出于安全原因不能上传" in r.get_data(as_text=True)


def test_a_file_that_is_both_pdf_and_html_is_refused(wf):
    app_id = wf.start()
    polyglot = _pdf() + b"\n<html><body><script>alert(document.cookie)</script></body></html>\n"
    r = wf.submit(app_id, **{"attachments.diploma__file": (io.BytesIO(polyglot), "diploma.pdf")})
    assert r.status_code == 422 and "网页（HTML）代码" in r.get_data(as_text=True)


def test_plain_pdf_passes_and_downloads_are_private_with_a_clean_name(wf):
    app_id = wf.start()
    evil_name = "身份证\u202egnp.exe\x01.pdf"
    r = wf.submit(app_id, **{"attachments.diploma__file": (io.BytesIO(_pdf()), evil_name)})
    assert r.status_code == 302, r.get_data(as_text=True)
    sha = wf.view(app_id).declaration["attachments"]["diploma"].removeprefix("sha256:")
    with wf.app.app_context():
        assert queries.attachment(db.session, sha).original_name == "身份证gnp.exe.pdf"
    d = wf.client("applicant").get(f"/apply/{app_id}/files/{sha}")
    assert d.status_code == 200 and d.headers["Cache-Control"] == "private, no-store"
    disposition = d.headers["Content-Disposition"]
    assert (
        "filename*=UTF-8''" in disposition and "%E2%80%AE" not in disposition and "\u202e" not in disposition
    )
    assert "sandbox" in d.headers["Content-Security-Policy"]


def test_nul_in_an_upload_filename_is_a_400(wf):
    app_id = wf.start()
    png = (UPLOADS / "certificate.png").read_bytes()
    r = wf.submit(app_id, **{"attachments.id_card__file": (io.BytesIO(png), "id\x00.png")})
    assert r.status_code == 400 and "NUL" in r.get_data(as_text=True)
    with wf.app.app_context():
        assert db.session.scalar(select(Attachment.sha256).limit(1)) is None  # nothing stored


# ---- 11. NUL and invisible characters -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "path,data",
    [
        ("/auth/login", {"username": "admin\x00", "password": "x"}),
        ("/auth/register", {"real_name": "张\x00三"}),
    ],
)
def test_nul_in_any_field_is_a_chinese_400(client, path, data):
    token = page_token(client.get(path).get_data(as_text=True))
    r = client.post(path, data={**data, "csrf_token": token})
    assert r.status_code == 400 and "NUL" in r.get_data(as_text=True)


def test_nul_in_a_query_string_is_a_400(wf):
    assert wf.client("unit_a").get(f"/review/{wf.orgs['unit_a']}/?view=all%00").status_code == 400


def test_zero_width_characters_do_not_make_an_opinion_long_enough(wf):
    app_id = wf.start()
    wf.submit(app_id)
    r = wf.act("unit_a", "unit_a", app_id, "unit_review", opinion="同意" + "\u200b" * 20 + "\u202e")
    assert r.status_code == 422 and "至少填写" in r.get_data(as_text=True)
    assert wf.view(app_id).stage == "unit_review"


def test_invisible_only_name_is_not_a_name(auth):
    r = auth.register(real_name="\u200b\u200c\u2060")
    assert r.status_code == 422 and "姓名：必须填写" in r.get_data(as_text=True)


# ---- 12. error pages ----------------------------------------------------------------------------------------
def test_wrong_method_is_a_chinese_405(client):
    r = client.get("/auth/logout")
    assert r.status_code == 405 and "请求方式不被允许" in r.get_data(as_text=True)
    assert "POST" in r.headers["Allow"]


def test_too_large_request_is_a_chinese_413(make_app):
    client = make_app(MAX_CONTENT_LENGTH=1024).test_client()
    r = client.post("/auth/login", data={"username": "x" * 4096})
    assert r.status_code == 413 and "上传内容过大" in r.get_data(as_text=True)


# ---- 13. no 500 for ids, pages, dates, stages ---------------------------------------------------------------
def test_ids_beyond_the_database_range_are_404(wf):
    unit = wf.orgs["unit_a"]
    for user, path in [
        ("applicant", f"/apply/{HUGE}"),
        ("applicant", f"/apply/{2**31}"),
        ("unit_a", f"/review/{unit}/app/{HUGE}"),
        ("unit_a", f"/review/{HUGE}/"),
        ("applicant", f"/diagram/applications/{HUGE}.svg"),
        ("applicant", f"/diagram/applications/{HUGE}.bpmn"),
        ("applicant", f"/diagram/applications/{HUGE}/path.json"),
        ("office", f"/orgs/{HUGE}/pending"),
        ("office", f"/orgs/{HUGE}/certificate"),
        ("operator", f"/audit/applications/{HUGE}"),
    ]:
        r = wf.client(user).get(path)
        assert r.status_code == 404, (path, r.status_code)


@pytest.mark.parametrize(
    "query,label",
    [
        (f"page={HUGE}", "页码"),
        ("page=-1", "页码"),
        ("page=abc", "页码"),
        ("days=99999999999", "天数"),
    ],
)
def test_bad_inbox_paging_is_a_chinese_400(wf, query, label):
    r = wf.client("unit_a").get(f"/review/{wf.orgs['unit_a']}/?{query}")
    assert r.status_code == 400 and f"查询条件「{label}」无效" in r.get_data(as_text=True)


@pytest.mark.parametrize(
    "query,label",
    [
        (f"org_id={HUGE}", "单位编号"),
        ("org_id=abc", "单位编号"),
        ("date_to=9999-12-31", "截止日期"),
        ("date_from=0001-01-01", "起始日期"),
        ("date_from=2020-13-01", "起始日期"),
        ("date_from=2020-12-01&date_to=2020-11-01", "起始日期"),
        ("status=bogus", "状态"),
        ("stage=bogus", "环节"),
    ],
)
def test_invalid_audit_filters_say_so(wf, query, label):
    r = wf.client("operator").get(f"/audit/?{query}")
    assert r.status_code == 400 and f"查询条件「{label}」无效" in r.get_data(as_text=True)


def test_unknown_stage_in_a_task_url_is_404(wf):
    app_id = wf.start()
    wf.submit(app_id)
    for stage in ("no_such_stage", "x" * 300):
        r = wf.client("unit_a").get(f"/review/{wf.orgs['unit_a']}/app/{app_id}/task/{stage}")
        assert r.status_code == 404

"""The verification block of printed forms: the code and a QR code (inline SVG, segno) of the page that checks it."""

from __future__ import annotations

import segno
from flask import url_for

from engine.audit.prints import verification_code

from ..extensions import db


def print_verification(app_id: int) -> dict:
    """{"code", "url", "qr_svg"} for templates/print/_verification.html, as the record stands now."""
    code = verification_code(db.session, app_id)
    url = url_for("audit.print_check", code=code, _external=True)
    qr = segno.make(url, error="m")
    return {"code": code, "url": url, "qr_svg": qr.svg_inline(scale=2, border=2, title=f"核验码 {code}")}

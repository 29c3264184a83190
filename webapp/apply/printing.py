"""What the print views of 评审表 and 公示表 show; shared by the applicant's and the unit's pages."""

from __future__ import annotations

from engine.accounts import services as acc
from engine.accounts.validation import id_particulars
from engine.audit.prints import review_sheet
from engine.store import services

from ..audit.printcode import print_verification
from ..extensions import db
from ..files import file_links
from ..forms_render import fields_for, flatten

PRINTS = {"review_form": "评审表", "notice_form": "公示表"}


def print_context(view, kind: str) -> dict:
    """Template variables for one print view: the declaration, chain org names, copies from the campaign."""
    deployment = services.deployment_for(db.session, view.deployment_id)
    campaign = deployment.campaign
    first = deployment.model.submission
    fields = fields_for(deployment.form_schema(first), deployment.ui_schema(first))
    copies = campaign.review_form_copies if kind == "review_form" else campaign.notice_form_copies
    orgs = {tier: acc.get_org(db.session, org_id).name for tier, org_id in view.chain.items() if org_id}
    id_number = acc.user_profile(db.session, view.applicant_id).id_number or ""
    sex, born = id_particulars(id_number)
    return {
        "view": view,
        "kind": kind,
        "title": PRINTS[kind],
        "copies": copies,
        "campaign": campaign,
        "fields": fields,
        "values": flatten(fields, view.declaration),
        "decl": view.declaration,
        "orgs": orgs,
        "series_name": _series(campaign, view.declaration.get("series")),
        "file_url": file_links(None, view.applicant_id, view.declaration),
        "verification": print_verification(view.id),  # templates/print/_verification.html
        "person": {"id_number": id_number, "sex": sex, "born": born},
        "sheet": review_sheet(db.session, view.id),
    }


def _series(campaign, code):
    for s in campaign.series:
        if s.code == code:
            return s.name
    return code or ""

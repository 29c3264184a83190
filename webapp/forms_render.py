"""JSON-Schema forms in the browser: FormField lists to template values, request data back to typed data.

Browsers send every value as a string; `parse_request` converts by FormField.type before the engine
validates. Attachment fields come as a file input `<name>__file` plus hidden `<name>` inputs carrying
the `sha256:…` refs of files already stored, so a form that fails validation keeps its uploads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from werkzeug.datastructures import MultiDict

from engine.errors import ActionRefused, FormInvalid
from engine.forms import FormField, form_fields

from .uploads import save_upload, upload_path

EXTRA_ROWS = 2  # blank rows offered after the filled ones in a repeatable group
REF_PREFIX = "sha256:"


@dataclass
class Parsed:
    """Typed data for the engine, the flat values to re-render, and errors found while parsing."""

    data: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    application_id: int | None = None  # uploads are granted to the uploader for this application only


def fields_for(schema: dict | None, ui_schema: dict | None) -> list[FormField]:
    """The form's fields, or none when the task has no form."""
    return form_fields(schema, ui_schema) if schema else []


def flatten(fields: list[FormField], data: dict | None) -> dict[str, Any]:
    """Values by dotted field name (`work_history.0.from`) for the template."""
    values: dict[str, Any] = {}
    _flatten(fields, data or {}, "", values)
    return values


def _flatten(fields, data: dict, prefix: str, out: dict) -> None:
    for f in fields:
        key = f.name.rsplit(".", 1)[-1]
        name = f"{prefix}{key}"
        value = data.get(key) if isinstance(data, dict) else None
        if f.type == "object" and f.fields:
            _flatten(f.fields, value or {}, f"{name}.", out)
        elif f.type == "array" and f.fields:
            rows = value if isinstance(value, list) else []
            out[name] = len(rows)
            for i, row in enumerate(rows):
                _flatten(f.fields, row or {}, f"{name}.{i}.", out)
        elif value is not None:
            out[name] = value


def row_count(f: FormField, values: dict) -> int:
    """How many rows a repeatable group shows: the filled ones plus EXTRA_ROWS blanks (at least min_items)."""
    return max(int(values.get(f.name, 0) or 0) + EXTRA_ROWS, f.min_items, 3)


def parse_request(
    fields: list[FormField], form: MultiDict, files: MultiDict, *, application_id: int | None = None
) -> Parsed:
    """Typed data from a submitted form; new files are stored by content (webapp.uploads) and granted to
    the uploader for `application_id`."""
    parsed = Parsed(application_id=application_id)
    parsed.data = _parse(fields, form, files, "", parsed)
    return parsed


def _parse(fields, form, files, prefix: str, parsed: Parsed) -> dict:
    data: dict[str, Any] = {}
    for f in fields:
        key = f.name.rsplit(".", 1)[-1]
        name = f"{prefix}{key}"
        if f.widget == "file":
            value = _parse_file(f, name, form, files, parsed)
        elif f.type == "object" and f.fields:
            value = _parse(f.fields, form, files, f"{name}.", parsed)
        elif f.type == "array" and f.fields:
            value = _parse_rows(f, name, form, files, parsed)
        else:
            value = _parse_scalar(f, name, form, parsed)
        if value is not None:
            data[key] = value
    return data


def _parse_rows(f: FormField, name: str, form, files, parsed: Parsed) -> list[dict]:
    indexes = sorted(
        {
            int(k.split(".")[len(name.split("."))])
            for k in form
            if k.startswith(f"{name}.") and k.split(".")[len(name.split("."))].isdigit()
        }
    )
    rows = []
    for i in indexes:
        probe = Parsed(application_id=parsed.application_id)
        row = _parse(f.fields, form, files, f"{name}.{i}.", probe)
        if not row and not probe.errors:
            continue  # a blank row the form offered
        n = len(rows)
        for k, v in probe.values.items():  # renumber so rows stay dense after blanks are dropped
            parsed.values[k.replace(f"{name}.{i}.", f"{name}.{n}.", 1)] = v
        for k, v in probe.errors.items():
            parsed.errors[k.replace(f"{name}.{i}.", f"{name}.{n}.", 1)] = v
        rows.append(row)
    parsed.values[name] = len(rows)
    return rows


def _parse_scalar(f: FormField, name: str, form, parsed: Parsed):
    if f.type == "boolean":
        checked = form.get(name) in ("on", "true", "1", "yes")
        if checked:
            parsed.values[name] = True
        return True if checked else None
    raw = (form.get(name) or "").strip()
    if raw == "":
        return None
    parsed.values[name] = raw
    if f.type == "integer":
        try:
            return int(raw)
        except ValueError:
            parsed.errors[name] = f"{f.title}：应为整数"
            return raw
    if f.type == "number":
        try:
            return float(raw)
        except ValueError:
            parsed.errors[name] = f"{f.title}：应为数字"
            return raw
    for value, _title in f.options:  # option values keep their schema type
        if str(value) == raw:
            return value
    return raw


def _parse_file(f: FormField, name: str, form, files, parsed: Parsed):
    refs = [r for r in form.getlist(name) if _known_ref(r)]
    allowed = _citable(parsed.application_id, {r[len(REF_PREFIX) :] for r in refs})
    if any(r[len(REF_PREFIX) :] not in allowed for r in refs):
        # Another applicant's file hash: never attach it (and never serve it back under this application).
        parsed.errors[name] = f"{f.title}：只能使用您为本申请书上传的文件，请重新上传"
        refs = [r for r in refs if r[len(REF_PREFIX) :] in allowed]
    removed = set(form.getlist(f"{name}__remove"))
    refs = [r for r in refs if r not in removed]
    for storage in files.getlist(f"{name}__file"):
        if not storage or not storage.filename:
            continue
        try:
            stored = save_upload(storage, field=name, label=f.title, application_id=parsed.application_id)
        except FormInvalid as exc:
            parsed.errors.update(exc.errors)
            continue
        ref = REF_PREFIX + stored.sha256
        if f.multiple:
            refs.append(ref)
        else:
            refs = [ref]
    refs = list(dict.fromkeys(refs))
    if f.multiple:
        parsed.values[name] = refs
        return refs or None
    if refs:
        parsed.values[name] = refs[-1]
        return refs[-1]
    return None


def _citable(application_id: int | None, shas: set[str]) -> set[str]:
    from flask_login import current_user

    from engine.store.attachments import citable

    from .extensions import db

    user_id = current_user.id if current_user.is_authenticated else None
    return citable(db.session, application_id, user_id, shas)


def _known_ref(ref: str) -> bool:
    """A ref the browser sent back is kept only if those bytes are really stored here."""
    if not ref.startswith(REF_PREFIX) or len(ref) != len(REF_PREFIX) + 64:
        return False
    digest = ref[len(REF_PREFIX) :]
    if any(c not in "0123456789abcdef" for c in digest):
        return False
    return upload_path(current_app.config["UPLOAD_DIR"], digest).exists()


def attachment_refs(fields: list[FormField], data: dict | None) -> list[tuple[str, str]]:
    """(field title, sha256) for every attachment in the data, in form order."""
    values = flatten(fields, data)
    found: list[tuple[str, str]] = []

    def walk(fs, parent_title=""):
        for f in fs:
            if f.widget == "file":
                value = values.get(f.name)
                for i, ref in enumerate(value if isinstance(value, list) else [value] if value else []):
                    title = (
                        f.title if not isinstance(value, list) or len(value) == 1 else f"{f.title}（{i + 1}）"
                    )
                    found.append((title, ref.removeprefix(REF_PREFIX)))
            elif f.type == "object":
                walk(f.fields, f.title)

    walk(fields)
    return found


def stored_file(sha256: str) -> Path:
    """The path of stored bytes (may not exist)."""
    return upload_path(current_app.config["UPLOAD_DIR"], sha256)


def display_value(f: FormField, value: Any) -> str:
    """A stored value as a reader sees it: option titles, 是/否, empty as —."""
    if value is None or value == "":
        return "—"
    if f.type == "boolean":
        return "是" if value else "否"
    for option, title in f.options:
        if option == value:
            return title
    return str(value)


def complete_from_form(app_id: int, stage: str, schema: dict | None, parsed) -> dict[str, str]:
    """Complete a task with parsed form data; return field errors (empty on success).

    Shows every problem at once: the parser's (bad numbers, refused files) and the schema's. Raises
    AlreadyHandled (someone acted first) and other ActionRefused for the caller to map.
    """
    from flask import request
    from flask_login import current_user

    from engine.forms import validate_form
    from engine.store import queries, services

    from .clock import get_clock
    from .extensions import db
    from .ops.metrics import ACTIONS

    errors = dict(parsed.errors)
    try:
        if errors:
            if schema is not None:
                validate_form(schema, parsed.data)
            raise FormInvalid({})
        services.complete_task(
            db.session,
            get_clock(),
            app_id,
            stage,
            queries.actor_for(db.session, current_user.id),
            parsed.data,
            expected_version=request.form.get("version", type=int),
        )
    except FormInvalid as exc:
        db.session.rollback()
        ACTIONS.labels(stage, "invalid").inc()
        return {**exc.errors, **errors}
    except ActionRefused:
        ACTIONS.labels(stage, "refused").inc()
        raise
    ACTIONS.labels(stage, "completed").inc()
    return {}

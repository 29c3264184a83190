"""JSON-Schema forms of the user tasks: loading, validation with Chinese messages, field lists for rendering.

Forms live in `bpmn/forms/` as `<name>.schema.json` (draft 2020-12) with an optional
`<name>.uischema.json` (react-jsonschema-form conventions, as spiff-arena uses: `ui:order`,
`ui:widget`, `ui:help`, `ui:options`). A BPMN user task names them in its
`spiffworkflow:properties` (`formJsonSchemaFilename`, `formUiSchemaFilename`).

Every property carries a Chinese `title`; error messages name the field by it, e.g.
`推荐意见：至少填写10个字`. A failing subschema may carry `x-errorMessage` to replace the generic
message for `pattern`/`format` errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError

from engine import paths
from engine.errors import ConfigError, FormInvalid
from engine.text import visible_length
from engine.variables import is_engine_variable

_TYPE_NAMES = {
    "string": "文本",
    "integer": "整数",
    "number": "数字",
    "boolean": "是或否",
    "array": "列表",
    "object": "对象",
    "null": "空",
}
_ATTACHMENT_REF = "#/$defs/attachment"


def default_forms_dir() -> Path:
    """The shipped forms folder (`bpmn/forms`, or `$ZHICHENG_BPMN_DIR/forms`)."""
    return paths.bpmn_dir() / "forms"


def load_form(name: str, forms_dir: Path | None = None) -> dict:
    """Load a form's JSON Schema by name (`unit_review` or `unit_review.schema.json`); cached.

    Raises ConfigError if the file is missing, is not JSON, or is not a valid draft 2020-12 schema.
    """
    folder = Path(forms_dir) if forms_dir is not None else default_forms_dir()
    filename = name if name.endswith(".json") else f"{name}.schema.json"
    return _load_json(str((folder / filename).resolve()), True)


def load_ui_schema(name: str, forms_dir: Path | None = None) -> dict:
    """Load a form's UI schema (`<name>.uischema.json`); an absent file gives `{}`. Cached."""
    folder = Path(forms_dir) if forms_dir is not None else default_forms_dir()
    filename = name if name.endswith(".json") else f"{name}.uischema.json"
    path = (folder / filename).resolve()
    return _load_json(str(path), False) if path.exists() else {}


@lru_cache(maxsize=64)
def _load_json(path: str, is_schema: bool) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError as exc:
        raise ConfigError("表单文件不存在", file=path) from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"不是合法的 JSON：{exc.msg}", file=path, line=exc.lineno) from exc
    if is_schema:
        problems = check_form_schema(data)
        if problems:
            raise ConfigError("不是合法的 JSON Schema：" + "；".join(problems), file=path)
    return data


def check_form_schema(schema: Any) -> list[str]:
    """Problems found by meta-schema validation (draft 2020-12) and our own conventions; empty if fine."""
    if not isinstance(schema, dict):
        return ["表单定义应为 JSON 对象"]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(根)"
        return [f"{where}: {exc.message}"]
    problems = [
        f"properties/{name}: 缺少中文 title"
        for name, sub in _properties(schema, schema).items()
        if isinstance(sub, dict) and not sub.get("title")
    ]
    # form data becomes process data: a form may neither carry undeclared fields nor name an engine variable
    if _resolve(schema, schema).get("additionalProperties") is not False:
        problems.append('(根): 缺少 "additionalProperties": false（表单只能提交其声明的字段）')
    problems += [
        f"properties/{name}: {name} 是流程引擎设置的变量，表单不能声明（见 engine/variables.py）"
        for name in _properties(schema, schema)
        if is_engine_variable(name)
    ]
    return problems


def _visible_min_length(validator, min_length, instance, schema):
    # Invisible characters (zero-width, bidi, spaces) do not count toward a minimum length.
    if validator.is_type(instance, "string") and visible_length(instance) < min_length:
        yield ValidationError(f"{instance!r} is too short")


FormValidator = validators.extend(Draft202012Validator, {"minLength": _visible_min_length})


def validate_form(schema: dict, data: dict) -> None:
    """Validate form data against its schema; collect every error.

    Raises FormInvalid whose `errors` maps a field path (`opinion`, `work_history.0.employer`;
    `""` for the form as a whole) to a Chinese message naming the field by its title.
    """
    validator = _validator(schema)
    errors: dict[str, str] = {}
    # Enforced here, whatever the schema says: form data is merged into the process data, so an undeclared
    # field (`has_tier2`, `return_stage`, ...) would set a process variable.
    declared = _properties(schema, schema)
    for name in data if isinstance(data, dict) else ():
        if name not in declared:
            errors[str(name)] = _undeclared(name)
    for error in sorted(validator.iter_errors(data), key=_error_order):
        for path, message in _describe(schema, error):
            errors.setdefault(path, message)
    if errors:
        raise FormInvalid(errors)


# Compiled validators by schema identity: a deployment's schemas are built once and never change, so a
# validator is compiled once per deployment rather than on every action. The schema is kept beside its
# validator so that its id cannot be reused by another object while the entry lives.
_VALIDATORS: dict[int, tuple[dict, Draft202012Validator]] = {}


def _validator(schema: dict) -> Draft202012Validator:
    entry = _VALIDATORS.get(id(schema))
    if entry is None or entry[0] is not schema:
        if len(_VALIDATORS) > 256:  # schemas of throwaway deployments (tests, lint) must not pile up
            _VALIDATORS.clear()
        entry = (schema, FormValidator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER))
        _VALIDATORS[id(schema)] = entry
    return entry[1]


def _undeclared(name) -> str:
    return f"{name}：表单中没有此项，不能提交（流程变量只能由系统设置）"


def _error_order(error: ValidationError):
    # `required` and `type` say the most about a field; report them before derived complaints.
    rank = {"required": 0, "type": 1}.get(error.validator, 2)
    return (list(map(str, error.absolute_path)), rank)


def _describe(root: dict, error: ValidationError) -> list[tuple[str, str]]:
    parts = list(error.absolute_path)
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = [name for name in value if isinstance(instance, dict) and name not in instance]
        return [(_join(parts + [name]), _missing(root, parts + [name])) for name in missing]
    if kind == "additionalProperties" and isinstance(instance, dict):
        declared = _resolve(root, error.schema).get("properties", {}) or {}
        return [(_join(parts + [name]), _undeclared(name)) for name in instance if name not in declared]
    path, label = _join(parts), _label(root, parts)
    if instance in ("", None) and kind in (
        "minLength",
        "format",
        "pattern",
        "type",
        "oneOf",
        "enum",
        "anyOf",
        "const",
    ):
        return [(path, _missing(root, parts))]
    message = _message(kind, value, instance, error.schema, _schema_at(root, parts))
    return [(path, f"{label}：{message}" if label else message)]


def _message(kind: str, value: Any, instance: Any, failing: dict, field_schema: dict) -> str:
    custom = failing.get("x-errorMessage") if isinstance(failing, dict) else None
    if kind in ("pattern", "format") and custom:
        return custom
    if kind == "minLength":
        return "必须填写" if value == 1 else f"至少填写{value}个字"
    if kind == "maxLength":
        return f"最多填写{value}个字"
    if kind == "format":
        return "日期格式应为 YYYY-MM-DD" if value == "date" else f"格式应为 {value}"
    if kind == "pattern":
        return "格式不正确"
    if kind == "type":
        names = value if isinstance(value, list) else [value]
        return "应为" + "或".join(_TYPE_NAMES.get(n, n) for n in names)
    if kind == "minimum":
        return f"不能小于{value}"
    if kind == "maximum":
        return f"不能大于{value}"
    if kind == "minItems":
        return f"至少上传{value}份" if _is_attachment(field_schema) else f"至少填写{value}项"
    if kind == "maxItems":
        return f"最多{value}项"
    if kind == "const":
        return "必须勾选确认" if value is True else f"只能为“{value}”"
    if kind in ("enum", "oneOf"):
        options = [title for _, title in _options(field_schema)]
        return "请从以下选项中选择：" + "、".join(options) if options else "不是有效的选项"
    if kind == "anyOf" and _any_date(field_schema):
        return "日期格式应为 YYYY-MM-DD，或留空"
    return "填写不符合要求"


def _any_date(schema: dict) -> bool:
    return any(isinstance(s, dict) and s.get("format") == "date" for s in schema.get("anyOf", []))


def _missing(root: dict, parts: list) -> str:
    sub = _schema_at(root, parts)
    label = _label(root, parts)
    if _is_attachment(sub):
        verb = "必须上传"
    elif sub.get("type") == "boolean":
        verb = "必须勾选确认"
    elif "oneOf" in sub or "enum" in sub:
        verb = "必须选择"
    else:
        verb = "必须填写"
    return f"{label}：{verb}" if label else verb


def _join(parts: list) -> str:
    return ".".join(str(p) for p in parts)


def _resolve(root: dict, schema: Any) -> dict:
    """Merge a local `$ref` into its referring schema (siblings such as `title` win)."""
    if not isinstance(schema, dict):
        return {}
    ref = schema.get("$ref")
    if not (isinstance(ref, str) and ref.startswith("#/")):
        return schema
    target: Any = root
    for key in ref[2:].split("/"):
        target = target.get(key, {}) if isinstance(target, dict) else {}
    merged = dict(_resolve(root, target))
    merged.update({k: v for k, v in schema.items() if k != "$ref"})
    merged["x-ref"] = ref
    return merged


def _properties(root: dict, schema: dict) -> dict:
    return _resolve(root, schema).get("properties", {}) or {}


def _schema_at(root: dict, parts: list) -> dict:
    schema = _resolve(root, root)
    for part in parts:
        if isinstance(part, int):
            schema = _resolve(root, schema.get("items", {}))
        else:
            schema = _resolve(root, schema.get("properties", {}).get(part, {}))
    return schema


def _label(root: dict, parts: list) -> str:
    """Human name of a field path: `工作经历第1项·工作单位`."""
    label, schema, in_item = "", _resolve(root, root), False
    for part in parts:
        if isinstance(part, int):
            schema = _resolve(root, schema.get("items", {}))
            label, in_item = f"{label}第{part + 1}项", True
        else:
            schema = _resolve(root, schema.get("properties", {}).get(part, {}))
            title = schema.get("title") or str(part)
            # an object's field is named by its own title; an array item's field keeps the item number
            label, in_item = (f"{label}·{title}" if in_item else title), False
    return label


def _is_attachment(schema: dict) -> bool:
    if schema.get("x-ref") == _ATTACHMENT_REF:
        return True
    items = schema.get("items")
    return isinstance(items, dict) and items.get("$ref") == _ATTACHMENT_REF


def _options(schema: dict) -> list[tuple[Any, str]]:
    if "oneOf" in schema and all(isinstance(o, dict) and "const" in o for o in schema["oneOf"]):
        return [(o["const"], o.get("title", str(o["const"]))) for o in schema["oneOf"]]
    if "enum" in schema:
        return [(v, str(v)) for v in schema["enum"]]
    return []


@dataclass(frozen=True)
class FormField:
    """One field to render. `fields` holds an object's sub-fields, or an array's item fields."""

    name: str  # dotted path in the data, e.g. `attachments.id_card`
    title: str  # Chinese label
    type: str  # JSON type: string, integer, number, boolean, array, object
    widget: str  # text, textarea, date, select, radio, checkbox, number, file, group, list
    required: bool = False
    options: tuple[tuple[Any, str], ...] = ()  # (value, title) for select/radio
    help: str = ""  # ui:help
    description: str = ""  # schema description (the pledge text for `pledge_confirmed`)
    multiple: bool = False  # an array of attachments: several files
    min_items: int = 0
    ui_options: dict = field(default_factory=dict)  # ui:options, e.g. {"rows": 10}
    fields: tuple[FormField, ...] = ()


def form_fields(schema: dict, ui_schema: dict | None = None) -> list[FormField]:
    """The form's fields in display order (`ui:order`, `*` for the rest), ready for one Jinja macro."""
    return _fields(schema, _resolve(schema, schema), ui_schema or {}, "")


def _fields(root: dict, schema: dict, ui: dict, prefix: str) -> list[FormField]:
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    result = []
    for name in _ordered(list(props), ui.get("ui:order")):
        sub, sub_ui = _resolve(root, props[name]), ui.get(name, {}) or {}
        path = f"{prefix}{name}"
        typ = sub.get("type", "string")
        options = tuple(_options(sub))
        children: tuple[FormField, ...] = ()
        multiple = False
        if typ == "object":
            children = tuple(_fields(root, sub, sub_ui, f"{path}."))
        elif typ == "array":
            item = _resolve(root, sub.get("items", {}))
            multiple = _is_attachment(sub)
            if item.get("type") == "object":
                children = tuple(_fields(root, item, sub_ui.get("items", {}) or {}, f"{path}.*."))
        result.append(
            FormField(
                name=path,
                title=sub.get("title", name),
                type=typ,
                widget=sub_ui.get("ui:widget") or _default_widget(sub, typ, options, multiple),
                required=name in required,
                options=options,
                help=sub_ui.get("ui:help", ""),
                description=sub.get("description", ""),
                multiple=multiple,
                min_items=sub.get("minItems", 0),
                ui_options=sub_ui.get("ui:options", {}) or {},
                fields=children,
            )
        )
    return result


def _ordered(names: list[str], order: list[str] | None) -> list[str]:
    if not order:
        return names
    rest = [n for n in names if n not in order]
    result: list[str] = []
    for entry in order:
        if entry == "*":
            result.extend(rest)
        elif entry in names:
            result.append(entry)
    if "*" not in order:
        result.extend(rest)
    return result


def _default_widget(schema: dict, typ: str, options: tuple, multiple: bool) -> str:
    if _is_attachment(schema) or multiple:
        return "file"
    if options:
        return "select"
    if schema.get("format") == "date" or _any_date(schema):
        return "date"
    return {
        "boolean": "checkbox",
        "integer": "number",
        "number": "number",
        "object": "group",
        "array": "list",
    }.get(typ, "text")

"""Deterministic sample data for a JSON-Schema form: what the dry run submits at each task.

Every declared property gets a value that satisfies its schema (an `examples` entry when the schema gives one,
else one built from `const`, options, `format`, `pattern`, lengths and bounds). `variants` then yields one
sample per combination of options of the fields the process branches on, so a dry run takes every decision a
form allows. No randomness: the same schema always gives the same samples.
"""

from __future__ import annotations

import itertools
import re._parser as sre_parse  # the stdlib's own regex parser: walk a pattern to build one matching string
from typing import Any

from .forms import _options, _resolve

TEXT = "试运行自动填写的内容，用于检查流程能否走通"
FORMATS = {
    "date": "2020-01-01",
    "date-time": "2020-01-01T09:00:00+08:00",
    "time": "09:00:00+08:00",
    "email": "dry-run@example.org",
    "uri": "https://example.org/",
}


def sample(root: dict, schema: Any = None) -> Any:
    """One value valid for `schema` (default: the whole form `root`)."""
    schema = _resolve(root, root if schema is None else schema)
    if schema.get("examples"):
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    options = _options(schema)
    if options:
        return options[0][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            merged = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf", "allOf")}
            merged.update(_resolve(root, schema[key][0]))
            return sample(root, merged)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {name: sample(root, sub) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [sample(root, schema.get("items", {})) for _ in range(max(1, schema.get("minItems", 0)))]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return int(min(max(low, 0), schema.get("maximum", low if low > 0 else 0)))
    if kind == "null":
        return None
    return _string(schema)


def _string(schema: dict) -> str:
    if schema.get("format") in FORMATS:
        return FORMATS[schema["format"]]
    if schema.get("pattern"):
        return _matching(schema["pattern"])
    low, high = schema.get("minLength", 1), schema.get("maxLength", 10**6)
    text = TEXT * (low // len(TEXT) + 1)
    return text[: max(low, min(len(TEXT), high))]


def _matching(pattern: str) -> str:
    """The shortest string the (simple) regular expression matches, taking the first choice everywhere."""
    return "".join(_walk(sre_parse.parse(pattern)))


def _walk(parsed) -> list[str]:
    out: list[str] = []
    for op, arg in parsed:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_first_in(arg))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = arg
            out.extend(_walk(sub) * low)
        elif name == "SUBPATTERN":
            out.extend(_walk(arg[-1]))
        elif name == "BRANCH":
            out.extend(_walk(arg[1][0]))
        # AT (anchors), lookarounds and the like add no characters
    return out


def _first_in(items) -> str:
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            return chr(arg[0])
        if name == "CATEGORY":
            return "0" if "DIGIT" in str(arg) else "a"
    return "a"


def variants(schema: dict, branch_fields: set[str]) -> list[tuple[str, dict]]:
    """(Chinese label, data) for every combination of the options of the fields in `branch_fields`."""
    base = sample(schema)
    props = _resolve(schema, schema).get("properties") or {}
    axes = []
    for name in sorted(branch_fields & set(props)):
        sub = _resolve(schema, props[name])
        options = _options(sub) or ([(True, "是"), (False, "否")] if sub.get("type") == "boolean" else [])
        if "const" in sub:
            options = [(sub["const"], str(sub["const"]))]
        if options:
            axes.append([(name, value, title) for value, title in options])
    result = []
    for combo in itertools.product(*axes):
        data = {**base, **{name: value for name, value, _ in combo}}
        result.append(("、".join(title for _, _, title in combo) or "提交", data))
    return result

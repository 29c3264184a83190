"""Content checks on uploaded bytes beyond their type: active PDF content, HTML polyglots, file names.

A PDF reader runs JavaScript and launches embedded files; a browser that sniffs an upload as HTML runs its
scripts. Evidence needs neither, so such files are refused with a message naming the field.
"""

from __future__ import annotations

import io
import re
import unicodedata

from engine.errors import FormInvalid

# Names whose presence anywhere in a PDF's object graph means active content.
ACTIVE_PDF_NAMES = {
    "/JavaScript": "JavaScript 脚本",
    "/JS": "JavaScript 脚本",
    "/OpenAction": "打开时自动执行的动作（OpenAction）",
    "/AA": "自动执行的动作",
    "/Launch": "启动外部程序的动作（Launch）",
    "/EmbeddedFiles": "嵌入的文件",
    "/EmbeddedFile": "嵌入的文件",
    "/RichMedia": "多媒体内容",
    "/XFA": "XFA 动态表单",
}
# Markers a browser takes for HTML when it sniffs or is tricked into rendering the bytes. Anywhere in the file
# only long tags (a chance match in 5 MB of compressed data is negligible); near the start, where browsers
# sniff and where a PDF header may hide after other content, the short ones too.
HTML_ANYWHERE = re.compile(rb"<(?:!doctype\s+html|html[\s>]|script|iframe|body[\s>])", re.IGNORECASE)
HTML_AT_START = re.compile(rb"<\s*(?:head|svg|object|embed|meta|title|style|a\s|img\s|p>|div)", re.IGNORECASE)
SNIFF_BYTES = 1024
MAX_NAME = 120


def refuse_active_content(data: bytes, mime: str, *, field: str, label: str) -> None:
    """Raise FormInvalid if the bytes also read as HTML, or (PDF) carry active content or cannot be read."""
    if HTML_ANYWHERE.search(data) or HTML_AT_START.search(data[:SNIFF_BYTES]):
        raise FormInvalid({field: f"{label}：文件中含有网页（HTML）代码，不能作为佐证材料上传"})
    if mime == "application/pdf":
        _check_pdf(data, field, label)


def _check_pdf(data: bytes, field: str, label: str) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise FormInvalid({field: f"{label}：PDF 文件已加密，无法检查其内容，请上传未加密的文件"})
        found = _active_names(reader.trailer)
    except FormInvalid:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError):
        raise FormInvalid({field: f"{label}：PDF 文件已损坏或格式不正确，无法读取"}) from None
    if found:
        what = "、".join(dict.fromkeys(ACTIVE_PDF_NAMES[n] for n in found))
        raise FormInvalid(
            {field: f"{label}：PDF 文件含有{what}，出于安全原因不能上传；请另存为普通 PDF 后重新上传"}
        )


def _active_names(root) -> list[str]:
    """Every active-content name reachable from the trailer, walking indirect objects once each."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    found: list[str] = []
    seen: set[tuple[int, int]] = set()
    stack = [root]
    steps = 0
    while stack:
        steps += 1
        if steps > 200_000:  # a hostile file with a huge graph: refuse rather than spin
            raise ValueError("PDF object graph too large")
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in seen:
                continue
            seen.add(ref)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            for key, value in obj.items():
                if key in ACTIVE_PDF_NAMES:
                    found.append(key)
                if key == "/S" and value in ("/JavaScript", "/Launch"):
                    found.append(str(value))
                stack.append(value)
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
    return found


def safe_filename(name: str | None, default: str = "upload") -> str:
    """A stored display name: the last path part, without control, format (bidi, zero-width) or NUL characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(
        ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
    )
    cleaned = cleaned.strip().strip(".")
    if len(cleaned) > MAX_NAME:
        stem, dot, ext = cleaned.rpartition(".")
        cleaned = (
            (stem[: MAX_NAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else cleaned[:MAX_NAME]
        )
    return cleaned or default

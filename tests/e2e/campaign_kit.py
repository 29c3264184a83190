"""Helpers for the whole-campaign browser test: tiny valid files, check digits, PDF text, one browser per person.

Nothing here talks to the app's code: the test drives the UI only. Files are made in memory (a 2x2 PNG, a
one-page PDF) and handed to Playwright as buffers; identity numbers get their real check characters.
"""

from __future__ import annotations

import re
import struct
import time
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, expect
from stdnum.cn import ric, uscc

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CONTEXT_OPTIONS = {
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
    "viewport": {"width": 1280, "height": 800},
}
TIMEOUT_MS = 10_000


# ---- files ---------------------------------------------------------------------------------------------


def tiny_png(rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid 2x2 RGB PNG (signature, IHDR, IDAT, IEND with their CRCs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + bytes(rgb) * 2 for _ in range(2))  # filter byte 0 per row
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def tiny_pdf(text: str = "zhicheng e2e") -> bytes:
    """A valid one-page PDF 1.4 with a Helvetica line of ASCII text and a correct xref table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def upload(name: str, data: bytes) -> dict:
    """A Playwright file payload (no temp file)."""
    mime = "application/pdf" if data.startswith(b"%PDF") else "image/png"
    return {"name": name, "mimeType": mime, "buffer": data}


# ---- identity numbers ----------------------------------------------------------------------------------


def resident_id(body17: str) -> str:
    """A GB 11643 resident ID: 17 digits plus the computed check character.

    stdnum's `ric.calc_check_digit` expects the number *with* a check position (it drops the last character).
    """
    assert len(body17) == 17 and body17.isdigit()
    return body17 + ric.calc_check_digit(body17 + "0")


def credit_code(body17: str) -> str:
    """A GB 32100 统一社会信用代码: 17 characters plus the computed check character."""
    assert len(body17) == 17
    return uscc.validate(body17 + uscc.calc_check_digit(body17))


# ---- PDFs ----------------------------------------------------------------------------------------------


def norm(text: str) -> str:
    """NFKC without whitespace: the CJK fonts' ToUnicode maps give some ideographs as Kangxi radicals
    (示 comes out as U+2F70 ⽰), which NFKC folds back; Chromium also breaks lines inside runs."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def pdf_text(path: Path) -> str:
    """All text of a PDF, normalised with `norm`."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    return norm("".join(page.extract_text() or "" for page in reader.pages))


def assert_pdf_has(text: str, *needles: str) -> None:
    """Each needle (normalised like the PDF text) occurs in the PDF text."""
    missing = [n for n in needles if norm(n) not in text]
    assert not missing, f"not in the PDF: {missing}; PDF text: {text[:1500]}"


# ---- people, each in their own browser context --------------------------------------------------------


@dataclass
class Cast:
    """One browser context per person (as in real life: each logs in once, in their own browser)."""

    browser: Browser
    base_url: str
    pages: dict[str, Page] = field(default_factory=dict)
    last: str | None = None
    timings: list[tuple[str, float]] = field(default_factory=list)
    _t0: float = field(default_factory=time.perf_counter)

    def page(self, who: str) -> Page:
        if who not in self.pages:
            context = self.browser.new_context(**CONTEXT_OPTIONS)
            context.set_default_timeout(TIMEOUT_MS)
            self.pages[who] = context.new_page()
        self.last = who
        return self.pages[who]

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, who: str, path: str) -> Page:
        page = self.page(who)
        response = page.goto(self.url(path))
        assert response is not None and response.ok, f"{who}: GET {path} -> {response and response.status}"
        return page

    def login(self, who: str, username: str, password: str) -> Page:
        page = self.goto(who, "/auth/login")
        page.fill("#username", username)
        page.fill("#password", password)
        submit(page, page.get_by_role("button", name="登录"))
        expect(page.locator(".flashes .flash-success").filter(has_text="欢迎")).to_have_count(1)
        return page

    def step(self, name: str) -> None:
        """Record the time since the previous step."""
        now = time.perf_counter()
        self.timings.append((name, now - self._t0))
        self._t0 = now

    def shot(self, who: str, name: str) -> Path:
        """A full-page screenshot kept as test-artifacts/campaign-<name>.png."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"campaign-{name}.png"
        self.page(who).screenshot(path=path, full_page=True)
        return path

    def close(self, failed: bool) -> None:
        if failed and self.last in self.pages:
            try:
                ARTIFACTS.mkdir(exist_ok=True)
                self.pages[self.last].screenshot(
                    path=ARTIFACTS / f"campaign-FAILED-{self.last}.png", full_page=True
                )
            except Exception as exc:  # the page may be what broke; the test's own failure matters more
                print(f"no failure screenshot: {exc}")
        for page in self.pages.values():
            page.context.close()


def submit(page: Page, button) -> None:
    """Click a submit button and wait for the resulting page (POST, redirect, GET) to load."""
    with page.expect_navigation(wait_until="load"):
        button.click()

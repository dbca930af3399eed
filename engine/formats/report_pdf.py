"""Reports as files (issue 18): every report Ratchet writes is one self-contained HTML page with
inline SVG charts; the same page can be saved as PDF, chosen by the file's suffix (`.pdf`).

The PDF is made offline by WeasyPrint from that very HTML (same text, tables and charts, the
charts drawn as PDF vector paths, never as pictures), with a print stylesheet for A4 pages and
their numbers. WeasyPrint loads nothing from outside: only `data:` URLs are read, any other
URL in a page is refused. It is imported only when a PDF is asked for (it is slow to import
and needs Debian's libpango); without it the error says what to do."""

from __future__ import annotations

import logging
from pathlib import Path

from engine.errors import EngineError
from engine.ground.fileio import PDF_SUFFIXES, write_atomic

PRINT_STYLE = """
@page { size: A4; margin: 14mm 12mm 16mm;
  @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #777 } }
body { margin: 0; font-size: 9.5pt }
.wide { overflow: visible }
.wide table { font-size: 8pt }
h1, h2, h3, summary { break-after: avoid }
tr, svg, .chart { break-inside: avoid }
"""


class PdfUnavailable(EngineError):
    """WeasyPrint (or the system libraries it needs) cannot be loaded here."""

    code = "E_PDF_UNAVAILABLE"


def is_pdf(path: Path) -> bool:
    return Path(path).suffix.lower() in PDF_SUFFIXES


def pdf_bytes(html_text: str) -> bytes:
    """The report page as a PDF document."""
    try:
        from weasyprint import CSS, HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(
            f"a PDF report needs WeasyPrint and the Pango library, which cannot be loaded here "
            f"({exc}). Save the report as .html instead (it holds the same content), or install "
            "them: `make setup` in a Python install of Ratchet (Debian: apt-get install "
            "libpango-1.0-0 libpangoft2-1.0-0).") from exc
    quiet = logging.getLogger("weasyprint")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # CSS it ignores (cursor, overflow-x) is not the user's fault
    try:
        return HTML(string=html_text, url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf(
            stylesheets=[CSS(string=PRINT_STYLE)])
    finally:
        quiet.setLevel(level)


def write_report_file(html_text: str, path: Path) -> Path:
    """Write the report to `path` atomically: PDF when its suffix is .pdf, else the HTML."""
    path = Path(path)
    data = pdf_bytes(html_text) if is_pdf(path) else html_text.encode("utf-8")
    write_atomic(path, data)
    return path

"""Reading a PDF report back (pypdf): its text, its pages, and how it draws (vector path
operators, and any raster image), including what its form XObjects draw."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader
from pypdf.generic import ContentStream

PATH_OPERATORS = (b"m", b"l", b"c", b"v", b"y", b"re")  # move, line, curves, rectangle


@dataclass
class PdfReport:
    pages: int
    text: str  # every page's text, a line broken after a hyphen joined, other breaks spaces
    page_texts: list[str]
    operators: Counter  # content-stream operators over all pages and their form XObjects
    images: int  # raster images drawn (image XObjects and inline images)

    @property
    def path_operators(self) -> int:
        return sum(self.operators[op] for op in PATH_OPERATORS)


def _walk(reader: PdfReader, stream, resources, operators: Counter, seen: set) -> int:
    images = 0
    for _operands, op in ContentStream(stream, reader).operations:
        operators[op] += 1
        if op == b"INLINE IMAGE":
            images += 1
    xobjects = (resources or {}).get("/XObject") or {}
    for ref in xobjects.values():
        key = getattr(ref, "idnum", id(ref))
        if key in seen:
            continue
        seen.add(key)
        xobject = ref.get_object()
        if xobject.get("/Subtype") == "/Image":
            images += 1
        elif xobject.get("/Subtype") == "/Form":
            images += _walk(reader, xobject, xobject.get("/Resources"), operators, seen)
    return images


def flat(text: str) -> str:
    text = re.sub(r"-\n", "-", text)
    return re.sub(r"\s+", " ", text)


def read_pdf(path: Path) -> PdfReport:
    data = Path(path).read_bytes()
    assert data.startswith(b"%PDF-"), data[:20]
    reader = PdfReader(path)
    operators: Counter = Counter()
    images = 0
    seen: set = set()
    for page in reader.pages:
        images += _walk(reader, page.get_contents(), page.get("/Resources"), operators, seen)
    page_texts = [page.extract_text() for page in reader.pages]
    return PdfReport(len(reader.pages), flat("\n".join(page_texts)), page_texts, operators,
                     images)

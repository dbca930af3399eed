"""One chunk of records: parse the model's columns (pyarrow), and write the output lines.

Output lines are the input records byte for byte, with the appended columns joined on in
Arrow (numbers formatted in shortest round-trip form by Arrow's cast), so no input field is
ever re-formatted and no Python loop runs per row on the normal path. Every output line has the
header's width: a short row gets empty fields, a long row keeps its first fields as written
(as many as the header has) and its surplus fields are named in its error text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from engine.batch.csv_input import CsvInput
from engine.batch.records import MAX_RECORD_BYTES, QUOTE, Chunk
from engine.errors import InputError
from engine.model import Model, Prediction
from engine.model import arrow_arrays as aa
from engine.model import arrow_compute as pc
from engine.model.categories import NUMBER
from engine.model.markers import LEGACY_MARKERS, null_markers, written_markers
from engine.model.model import Feature
from engine.model.rows import RowErrors, parse_numbers, show_value

# A value of a model's column longer than this rejects its row (and reaches no model code, so
# memory per row stays a small multiple of the row's own size); other columns pass through.
MAX_FIELD_BYTES = 1 << 20
# The csv module refuses fields over 128 KiB by default; the careful path must read what the
# fast path reads (a row's size is bounded by records.MAX_RECORD_BYTES).
csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_BYTES))


def csv_field(text: str, delimiter: str) -> str:
    """A value quoted as CSV needs it."""
    if any(ch in text for ch in (delimiter, '"', "\n", "\r")):
        return '"' + text.replace('"', '""') + '"'
    return text


def _note_written(strings: pa.Array, name: str, errors: RowErrors, rows: np.ndarray,
                  markers: tuple[str, ...], trim: bool) -> None:
    found = written_markers(strings, markers, trim)
    if found is not None:
        cells, texts = found
        errors.note_written(name, rows[cells], texts)


def _numbers(strings: pa.Array, name: str, errors: RowErrors, rows: np.ndarray,
             markers: tuple[str, ...]) -> np.ndarray:
    """Text -> float64; empty or a missing-value marker is missing (NaN); text that is not a
    number rejects its row."""
    try:  # the common case: every field is a number
        return aa.to_floats(pc.cast(strings, pa.float64()))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    as_null = null_markers(strings, markers, trim=True)
    _note_written(strings, name, errors, rows, markers, trim=True)
    try:  # numbers and blanks or markers (missing values)
        return aa.to_floats(pc.cast(as_null, pa.float64()))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    texts = as_null.to_pylist()
    out, bad = parse_numbers(texts, markers)
    full = np.zeros(len(errors.rejected), dtype=bool)
    full[rows[bad]] = True
    where = {int(r): texts[i] for i, r in zip(np.flatnonzero(bad), rows[bad], strict=True)}
    errors.add(full, lambda row: f"column {name!r}: {show_value(where[row])} is not a number")
    return out


def _without_oversized(strings: pa.Array, name: str, errors: RowErrors,
                       rows: np.ndarray) -> pa.Array:
    """A field longer than MAX_FIELD_BYTES rejects its row and is read as empty."""
    sizes = aa.to_ints(pc.binary_length(strings), np.int32)
    big = sizes > MAX_FIELD_BYTES
    if not big.any():
        return strings
    full = np.zeros(len(errors.rejected), dtype=bool)
    full[rows[big]] = True
    size_of = dict(zip(rows[big].tolist(), sizes[big].tolist(), strict=True))
    errors.add(full, lambda row: f"column {name!r}: the value is {size_of[row]:,} bytes long, "
                                 f"more than the {MAX_FIELD_BYTES:,} bytes one field may hold; "
                                 "shorten it or remove the row")
    return pc.if_else(aa.booleans(big), aa.string(""), strings)


@dataclass(frozen=True, slots=True)
class RowFit:
    """How each record of a chunk is fitted to the header's width in the output."""

    pad: np.ndarray  # empty fields to add (a short row)
    keep: np.ndarray  # bytes of the record to keep (a long row: its first fields), -1 = all

    @classmethod
    def whole(cls, n: int) -> RowFit:
        return cls(np.zeros(n, dtype=np.int64), np.full(n, -1, dtype=np.int64))


def _fields_end(record: bytes, delimiter: int, width: int) -> int:
    """Where the record's first `width` fields end (the offset of the delimiter after them),
    by the csv module's quoting rules (the ones records.py cuts records by); -1 if fewer."""
    state = 0  # 0: start of a field, 1: in an unquoted field, 2: quoted, 3: quote in quoted
    seen = 0
    for i, b in enumerate(record):
        if state == 2:
            state = 3 if b == QUOTE else 2
            continue
        if state == 3:
            if b == QUOTE:
                state = 2
                continue
            state = 1
        if b == delimiter:
            seen += 1
            if seen == width:
                return i
            state = 0
        elif b == QUOTE and state == 0:
            state = 2
        else:
            state = 1
    return -1


SHOWN_SURPLUS = 5  # surplus fields quoted in a row's error text; the rest are counted


def _too_many(count: int, width: int, surplus: Sequence[str], delimiter: str) -> str:
    shown = ", ".join(show_value(v) for v in surplus[:SHOWN_SURPLUS])
    more = len(surplus) - SHOWN_SURPLUS
    if more > 0:
        shown += f" and {more:,} more"
    return (f"the row has {count} fields, the header has {width}: the output keeps its first "
            f"{width} and leaves out {shown}; quote a value that contains {delimiter!r}, or "
            "remove the extra fields")


def _fit_long_row(chunk: Chunk, row: int, width: int, delimiter: str,
                  fit: RowFit) -> list[str]:
    """Keeps a long record's first `width` fields; returns its surplus fields."""
    record = chunk.data[chunk.starts[row]:chunk.starts[row + 1]]
    end = _fields_end(record, ord(delimiter), width)
    fit.keep[row] = end
    tail = record[end + 1:].rstrip(b"\r\n").decode("utf-8")
    return next(csv.reader([tail], delimiter=delimiter), [""])


@dataclass(frozen=True, slots=True)
class ChunkFields:
    """The text of the columns read from one chunk, before any column is typed: the rows its
    shape refuses (blank, not UTF-8 is refused earlier, wrong number of fields) and for each
    row how many empty fields to add so that a short row's appended columns still line up under
    their header. Several models can type their columns from the same fields (a trial scores
    its champion and challenger on one read of the file)."""

    fields: dict[str, pa.Array]  # column -> text, one entry per row in `rows`
    rows: np.ndarray  # the records the fields hold (the others were refused by their shape)
    refused: RowErrors  # never changed: typed() adds to a copy
    fit: RowFit

    def typed(self, features: Sequence[Feature], markers: tuple[str, ...] = LEGACY_MARKERS,
              inputs: Sequence[str] | None = None) -> tuple[dict, RowErrors, RowFit]:
        """The columns of `features` (numbers as float64, NaN = missing; other values as text,
        None = missing), and the rows refused so far: by their shape, then by these values.
        `markers`: the model's missing-value markers, read as missing in the columns `inputs`
        (default: all of `features`); in any other (a label column) only the empty cell is."""
        n = len(self.fit.pad)
        errors = self.refused.copy()
        columns = {}
        for feature in features:
            strings = _without_oversized(self.fields[feature.name], feature.name, errors,
                                         self.rows)
            marks = markers if inputs is None or feature.name in inputs else LEGACY_MARKERS
            if feature.type == NUMBER:
                values = np.full(n, np.nan)
                values[self.rows] = _numbers(strings, feature.name, errors, self.rows, marks)
            elif marks == LEGACY_MARKERS:
                values = np.full(n, None, dtype=object)
                text = aa.to_objects(strings)
                values[self.rows] = np.where(text == "", None, text)
            else:
                values = np.full(n, None, dtype=object)
                values[self.rows] = aa.to_objects(null_markers(strings, marks, trim=False))
                _note_written(strings, feature.name, errors, self.rows, marks, trim=False)
            columns[feature.name] = values
        return columns, errors, self.fit


def read_fields(chunk: Chunk, source: CsvInput, names: Sequence[str]) -> ChunkFields:
    """The text of the columns `names` (all in the header) for every record of the chunk."""
    try:
        chunk.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = chunk.line_at(exc.start)
        raise InputError(f"{source.path}: line {line} is not UTF-8 text (the encoding tried). "
                         "Re-save the file as UTF-8, e.g. 'CSV UTF-8' in Excel, and try again.",
                         "E_ENCODING") from None
    n = len(chunk.starts) - 1
    errors = RowErrors(n)
    fit = RowFit.whole(n)
    if chunk.quoted:
        fields = _fields_by_csv_module(chunk, source, errors, fit)
        rows = np.arange(n)
    else:
        fields, rows = _fields_by_arrow(chunk, source, list(names), errors, fit)
    lengths = np.diff(chunk.starts)
    first = np.frombuffer(chunk.data, dtype=np.uint8)[chunk.starts[:-1]]
    blank = (lengths == 1) | ((lengths == 2) & (first == ord("\r")))
    errors.add(blank, lambda row: "the row is empty")
    fit.pad[blank] = len(source.header) - 1
    return ChunkFields(fields, rows, errors, fit)


def parse_chunk(chunk: Chunk, source: CsvInput, model: Model
                ) -> tuple[dict, RowErrors, RowFit]:
    """The model's input columns for every record of the chunk, the rows already refused, and
    how each row is fitted to the header's width in the output (see ChunkFields)."""
    return read_fields(chunk, source, model.feature_names).typed(model.features,
                                                                 model.missing_markers)


def _fields_by_arrow(chunk: Chunk, source: CsvInput, needed: list[str], errors: RowErrors,
                     fit: RowFit) -> tuple[dict[str, pa.Array], np.ndarray]:
    """The fast path (no quotes in the chunk): pyarrow parses; rows with the wrong number of
    fields are refused and their record index noted, so the parsed rows stay aligned."""
    n = len(fit.pad)
    invalid: list[tuple[int, int]] = []

    def on_invalid(row) -> str:
        invalid.append((row.number, row.actual_columns))
        return "skip"

    table = pcsv.read_csv(
        io.BytesIO(chunk.data),
        read_options=pcsv.ReadOptions(column_names=source.header, use_threads=False,
                                      block_size=len(chunk.data) + 1),
        parse_options=pcsv.ParseOptions(delimiter=source.delimiter, quote_char=False,
                                        invalid_row_handler=on_invalid,
                                        ignore_empty_lines=False),
        convert_options=pcsv.ConvertOptions(include_columns=needed,
                                            column_types={c: pa.string() for c in needed},
                                            strings_can_be_null=False,
                                            quoted_strings_can_be_null=False))
    numbers = [number for number, _ in invalid]
    if any(number is None or not 1 <= number <= n for number in numbers) or (
            table.num_rows + len(invalid) != n):
        raise InputError(f"{source.path}: the rows from line {chunk.first_line} on cannot "
                         "be read consistently; check the file's line ends.", "E_NOT_CSV")
    bad_rows = np.array([number - 1 for number in numbers], dtype=np.int64)
    rows = np.setdiff1d(np.arange(n), bad_rows, assume_unique=True) if invalid else np.arange(n)
    if invalid:
        _refuse_shapes(chunk, source, {number - 1: actual for number, actual in invalid},
                       errors, fit)
    return {c: table.column(c).combine_chunks() for c in needed}, rows


def _refuse_shapes(chunk: Chunk, source: CsvInput, counts: dict[int, int], errors: RowErrors,
                   fit: RowFit, surplus: dict[int, list[str]] | None = None) -> None:
    """Refuses the rows whose number of fields (`counts`, row -> fields) is not the header's,
    and fits them to its width: a short row padded, a long row cut after its first fields."""
    width = len(source.header)
    texts: dict[int, str] = {}
    for row, count in counts.items():
        if count < width:
            fit.pad[row] = width - count
            texts[row] = f"the row has {count} fields, the header has {width}"
        else:
            extra = _fit_long_row(chunk, row, width, source.delimiter, fit)
            if surplus is not None:  # the csv module's own reading of the fields
                extra = surplus[row]
            texts[row] = _too_many(count, width, extra, source.delimiter)
    mask = np.zeros(len(fit.pad), dtype=bool)
    mask[list(counts)] = True
    errors.add(mask, texts.__getitem__)


def _fields_by_csv_module(chunk: Chunk, source: CsvInput, errors: RowErrors,
                          fit: RowFit) -> dict[str, pa.Array]:
    """The careful path (quotes in the chunk): Python's csv module parses each record that
    records.py found by the same rules, so a stray quote can never shift rows."""
    n = len(fit.pad)
    width = len(source.header)
    columns: list[list[str]] = [[""] * n for _ in range(width)]
    counts = np.full(n, width, dtype=np.int64)
    surplus: dict[int, list[str]] = {}
    for i in range(n):
        record = chunk.data[chunk.starts[i]:chunk.starts[i + 1]].decode("utf-8")
        try:
            cells = next(csv.reader([record], delimiter=source.delimiter), [])
        except csv.Error as exc:
            raise InputError(f"{source.path}: row {chunk.first_row + i + 1} (line "
                             f"{chunk.line_at(int(chunk.starts[i]))}) cannot be read as CSV "
                             f"({exc}); fix it and try again.", "E_NOT_CSV") from None
        counts[i] = len(cells)
        if len(cells) == width:
            for j, cell in enumerate(cells):
                columns[j][i] = cell
        elif len(cells) > width:
            surplus[i] = cells[width:]
    wrong = np.flatnonzero((counts != width) & (counts > 0))
    _refuse_shapes(chunk, source, {int(i): int(counts[i]) for i in wrong}, errors, fit, surplus)
    index = {name: j for j, name in enumerate(source.header)}
    return {name: aa.strings(columns[j]) for name, j in index.items()}


def output_lines(chunk: Chunk, result: Prediction, model: Model, delimiter: str,
                 fit: RowFit, extra: Sequence[pa.Array] = ()) -> memoryview:
    """The chunk's output: each input record unchanged (fitted to the header's width, see
    RowFit), then the appended columns, then `extra` (CSV-ready text, e.g. explanations)."""
    n = len(chunk.starts) - 1
    offsets = pa.py_buffer(chunk.starts.astype(np.int32))
    records = pa.StringArray.from_buffers(n, offsets, pa.py_buffer(chunk.data))
    records = pc.utf8_rtrim(records, "\r\n")
    cut = np.flatnonzero(fit.keep >= 0)
    if cut.size:
        kept = np.full(n, "", dtype=object)
        for row in cut:
            start = int(chunk.starts[row])
            kept[row] = chunk.data[start:start + int(fit.keep[row])].decode("utf-8")
        records = pc.if_else(aa.booleans(fit.keep >= 0), aa.strings(kept), records)
    pad = fit.pad
    if pad.any():
        fills = aa.strings([delimiter * k for k in range(int(pad.max()) + 1)])
        records = pc.binary_join_element_wise(records, pc.take(fills, aa.numbers(pad)),
                                              aa.string(""))
    bad = result.rejected

    def numbers(values: np.ndarray) -> pa.Array:
        return pc.fill_null(pc.cast(aa.numbers(values, bad), pa.string()), aa.string(""))

    if model.task == "regression":
        appended = [numbers(result.prediction.astype(np.float64))]
    else:
        labels = aa.strings([csv_field(str(c), delimiter) for c in model.classes] + [""])
        index = np.where(bad, len(model.classes), result.class_index)
        appended = [pc.take(labels, aa.numbers(index))]
        appended += [numbers(result.proba[:, k]) for k in range(len(model.classes))]
    appended.append(pc.take(aa.strings(["ok", "rejected"]), aa.numbers(bad.astype(np.int8))))
    messages = np.full(n, "", dtype=object)
    for row, message in result.errors.items():
        messages[row] = csv_field(message, delimiter)
    tail = [aa.strings(messages), *extra]
    appended += tail[:-1]
    appended.append(pc.binary_join_element_wise(tail[-1], aa.string("\n"), aa.string("")))
    lines = pc.binary_join_element_wise(records, *appended, aa.string(delimiter))
    line_offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    start, stop = line_offsets[lines.offset], line_offsets[lines.offset + len(lines)]
    return memoryview(lines.buffers()[2])[start:stop]


def output_header(source: CsvInput, model: Model, extra: Sequence[str] = ()) -> str:
    names = ["prediction"]
    if model.task != "regression":
        names += [f"proba_{c}" for c in model.classes]
    names += ["status", "error", *extra]
    clash = [n for n in names if n in source.header]
    if clash:
        raise InputError(f"{source.path}: the file already has the column(s) "
                         f"{', '.join(map(repr, clash))} that predictions add (is it an "
                         "output file?); rename or remove them and try again.",
                         "E_COLUMN_CLASH")
    return source.delimiter.join([source.header_text,
                                  *(csv_field(n, source.delimiter) for n in names)]) + "\n"

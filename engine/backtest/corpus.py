"""Reading a back-test corpus: a CSV file, a folder of CSV files, or Parquet files, in batches,
only the columns the models need plus the label and the time column.

CSV text is kept as text here (numbers are parsed per batch by engine.backtest.columns, the same
way `ratchet predict` parses them), so one odd cell never stops the read: its row is rejected
by the model, with the others scored. Every problem that makes a file unusable (missing, empty,
not UTF-8, a needed column absent) is found before any scoring and named with the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

from engine.batch.csv_input import open_csv
from engine.errors import InputError

SUFFIXES = (".csv", ".parquet")
BLOCK_BYTES = 4 << 20  # CSV bytes per batch: enough batches to keep every core busy
PARQUET_ROWS = 65_536


@dataclass(frozen=True, slots=True)
class Needed:
    """The columns a back-test reads, by role (for the messages when one is missing)."""

    features: tuple[str, ...]
    label: str
    time: str

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys([*self.features, self.label, self.time]))


def corpus_files(path: Path | str) -> list[Path]:
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() not in SUFFIXES:
            raise InputError(f"the corpus {path} is not a .csv or .parquet file; give a CSV "
                             "file, a Parquet file or a folder of them.", "E_NOT_CSV")
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir()
                       if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not files:
            raise InputError(f"the corpus folder {path} holds no .csv or .parquet files; put "
                             "the history there as CSV files with a header row.",
                             "E_EMPTY_CORPUS")
        return files
    raise InputError(f"the corpus {path} does not exist; give a CSV file or a folder of CSV "
                     "files.", "E_NO_FILE")


def file_header(path: Path) -> list[str]:
    """The column names of one corpus file (CSV: checked for encoding and shape first)."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{path} cannot be read as Parquet ({exc}).", "E_NOT_PARQUET") \
                from None
    return open_csv(path).header


def corpus_header(path: Path | str) -> list[str]:
    """The columns of the corpus's first file (what the app offers as time columns)."""
    return file_header(corpus_files(path)[0])


def check_file(path: Path, needed: Needed, model: str) -> None:
    """Every needed column is in the file's header, or an error that says which and why."""
    header = file_header(path)
    have = ", ".join(map(repr, header))
    if needed.time not in header:
        raise InputError(f"{path} has no time column {needed.time!r} (--time-column); its "
                         f"columns are {have}.", "E_MISSING_COLUMN")
    if needed.label not in header:
        raise InputError(f"{path} has no column {needed.label!r}, the true outcome that "
                         f"{model} predicts (its target); add the outcome under that name. "
                         f"The file has {have}.", "E_MISSING_COLUMN")
    missing = [c for c in needed.features if c not in header]
    if missing:
        raise InputError(f"{path} lacks the input column(s) {', '.join(map(repr, missing))} "
                         f"that the models need; the file has {have}.", "E_MISSING_COLUMN")


def _csv_batches(path: Path, columns: list[str], block_bytes: int) -> Iterator[pa.Table]:
    source = open_csv(path)
    reader = pcsv.open_csv(
        path,
        read_options=pcsv.ReadOptions(block_size=block_bytes, use_threads=True),
        parse_options=pcsv.ParseOptions(delimiter=source.delimiter, newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            include_columns=columns, column_types=dict.fromkeys(columns, pa.string()),
            strings_can_be_null=False, quoted_strings_can_be_null=False))
    for batch in reader:
        yield pa.Table.from_batches([batch])


def _parquet_batches(path: Path, columns: list[str]) -> Iterator[pa.Table]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=PARQUET_ROWS, columns=columns):
        yield pa.Table.from_batches([batch])


def iter_batches(path: Path, needed: Needed,
                 block_bytes: int = BLOCK_BYTES) -> Iterator[tuple[int, pa.Table]]:
    """(rows before this batch in the file, the batch's needed columns), in file order."""
    columns = needed.columns
    batches = (_parquet_batches(path, columns) if path.suffix.lower() == ".parquet"
               else _csv_batches(path, columns, block_bytes))
    first = 0
    try:
        for table in batches:
            yield first, table
            first += table.num_rows
    except pa.ArrowInvalid as exc:
        what = str(exc).split("\n")[0]
        if "UTF8" in what or "UTF-8" in what:
            why = "it is not UTF-8 text throughout; re-save it as UTF-8 (e.g. 'CSV UTF-8')"
        else:
            why = f"{what}; check the rows after data row {first} (every row needs as many " \
                  "fields as the header)"
        raise InputError(f"{path} cannot be read: {why}.", "E_NOT_CSV") from None
    except OSError as exc:
        raise InputError(f"{path} cannot be read ({exc}).", "E_NOT_CSV") from None

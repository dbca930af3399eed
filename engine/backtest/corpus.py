"""Reading a back-test corpus: a CSV file, a folder of CSV files, or Parquet, only the columns
the models need plus the label and the time column, into the predictor's column form."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from engine.errors import InputError

SUFFIXES = (".csv", ".parquet")


@dataclass(frozen=True, slots=True)
class Corpus:
    files: list[Path]
    table: pa.Table  # the needed columns, all as strings (CSV) or native types (Parquet)

    @property
    def rows(self) -> int:
        return self.table.num_rows


def corpus_files(path: Path) -> list[Path]:
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
        if not files:
            raise InputError(f"{path} holds no .csv or .parquet files.", "E_EMPTY_CORPUS")
        return files
    raise InputError(f"the corpus {path} does not exist; give a CSV file or a folder of them.",
                     "E_NO_FILE")


def _read_one(path: Path, columns: list[str]) -> pa.Table:
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        missing = [c for c in columns if c not in schema.names]
        if missing:
            raise InputError(f"{path} lacks the column(s) {', '.join(map(repr, missing))}.",
                             "E_MISSING_COLUMN")
        table = pq.read_table(path, columns=columns)
        return table.cast(pa.schema([(c, pa.string()) for c in columns]), safe=False)
    header = pcsv.open_csv(path).schema.names
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(f"{path} lacks the column(s) {', '.join(map(repr, missing))}; it has "
                         f"{', '.join(map(repr, header))}.", "E_MISSING_COLUMN")
    return pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(
        include_columns=columns, column_types={c: pa.string() for c in columns},
        strings_can_be_null=False, quoted_strings_can_be_null=False))


def read_corpus(path: Path, columns: list[str]) -> Corpus:
    """All files of the corpus, the given columns only, concatenated in file order."""
    files = corpus_files(path)
    try:
        tables = [_read_one(f, columns) for f in files]
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"the corpus {path} cannot be read ({exc}); give UTF-8 CSV files "
                         "with a header row.", "E_NOT_CSV") from None
    return Corpus(files, pa.concat_tables(tables))


def column_values(table: pa.Table, name: str) -> np.ndarray:
    """A column as the predictor takes it: text as objects with None for empty."""
    col = table.column(name).combine_chunks()
    text = pc.fill_null(col, "").to_numpy(zero_copy_only=False)
    return np.where(text == "", None, text).astype(object)

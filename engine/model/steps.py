"""Preprocessing steps of ratchet-coefficients/1: parse, check column counts, apply.

Data flows between steps as a list of columns (float64 arrays for numbers, object arrays for
categories). Each step checks, when the file is loaded, that it receives as many columns of the
kinds it needs as the file says, so shapes never go wrong at prediction time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.model.categories import NUMBER, OneHotColumn, OrdinalColumn
from engine.model.reader import Reader
from engine.model.rows import RowErrors, missing_mask

Columns = list[np.ndarray]


@dataclass(frozen=True, slots=True)
class Impute:
    """SimpleImputer: replace missing (or `missing_value`) by a per-column fill (None = keep)."""

    fill: list
    missing_value: object

    def apply(self, cols: Columns, names: list[str], errors: RowErrors) -> Columns:
        out = []
        for col, fill in zip(cols, self.fill, strict=True):
            if fill is None:
                out.append(col)
                continue
            if self.missing_value is None:
                mask = missing_mask(col)
            else:
                mask = np.asarray(col == self.missing_value, dtype=bool)
            if mask.any():
                col = col.copy()
                col[mask] = fill
            out.append(col)
        return out


@dataclass(frozen=True, slots=True)
class MissingValue:
    """XGBoost's `missing` parameter: a cell equal to `value` (compared in float32) is missing."""

    value: float

    def apply(self, cols: Columns, names: list[str], errors: RowErrors) -> Columns:
        target = np.float32(self.value)
        out = []
        for col in cols:
            with np.errstate(over="ignore"):
                mask = col.astype(np.float32) == target
            if mask.any():
                col = np.where(mask, np.nan, col)
            out.append(col)
        return out


@dataclass(frozen=True, slots=True)
class StandardScale:
    mean: np.ndarray | None
    scale: np.ndarray | None

    def apply(self, cols: Columns, names: list[str], errors: RowErrors) -> Columns:
        out = []
        for j, col in enumerate(cols):
            col = col.astype(np.float64, copy=True)
            if self.mean is not None:
                col -= self.mean[j]
            if self.scale is not None:
                col /= self.scale[j]
            out.append(col)
        return out


@dataclass(frozen=True, slots=True)
class MinMaxScale:
    scale: np.ndarray
    offset: np.ndarray
    clip: tuple[float, float] | None

    def apply(self, cols: Columns, names: list[str], errors: RowErrors) -> Columns:
        out = []
        for j, col in enumerate(cols):
            col = col * self.scale[j]
            col += self.offset[j]
            if self.clip is not None:
                np.clip(col, self.clip[0], self.clip[1], out=col)
            out.append(col)
        return out


@dataclass(frozen=True, slots=True)
class OneHot:
    encoders: tuple[OneHotColumn, ...]

    def apply(self, cols: Columns, names: list[str], errors: RowErrors) -> Columns:
        out: Columns = []
        for col, name, enc in zip(cols, names, self.encoders, strict=True):
            out.extend(enc.encode(col, name, errors))
        return out


@dataclass(frozen=True, slots=True)
class Ordinal:
    encoders: tuple[OrdinalColumn, ...]

    def apply(self, cols: Columns, names: list[str], errors: RowErrors) -> Columns:
        return [
            enc.encode(col, name, errors)
            for col, name, enc in zip(cols, names, self.encoders, strict=True)
        ]


@dataclass(frozen=True, slots=True)
class Select:
    columns: tuple[int, ...]

    def apply(self, cols: Columns, names: list[str], errors: RowErrors) -> Columns:
        return [cols[j] for j in self.columns]


@dataclass(frozen=True, slots=True)
class Block:
    columns: tuple[int, ...]
    steps: tuple


@dataclass(frozen=True, slots=True)
class ColumnTransform:
    """ColumnTransformer: each block takes some columns through its own steps; outputs concat."""

    blocks: tuple[Block, ...]

    def apply(self, cols: Columns, names: list[str], errors: RowErrors) -> Columns:
        out: Columns = []
        for block in self.blocks:
            sub = [cols[j] for j in block.columns]
            sub_names = [names[j] for j in block.columns]
            out.extend(run_steps(block.steps, sub, sub_names, errors))
        return out


def run_steps(steps, cols: Columns, names: list[str], errors: RowErrors) -> Columns:
    """Apply steps in order; `names` follow the columns for as long as they are the inputs."""
    for step in steps:
        new = step.apply(cols, names, errors)
        names = _follow_names(step, names, len(new))
        cols = new
    return cols


def _follow_names(step, names: list[str], width: int) -> list[str]:
    if isinstance(step, Select):
        return [names[j] for j in step.columns]
    if len(names) == width and isinstance(
            step, Impute | StandardScale | MinMaxScale | Ordinal | MissingValue):
        return names
    return [f"column {j}" for j in range(width)]


# -- parsing ---------------------------------------------------------------------------------

def _need(r: Reader, kinds: list[str], want: str, op: str) -> None:
    for j, kind in enumerate(kinds):
        if kind != want:
            raise r.fail(f"{op!r} needs {want} columns, but its column {j} holds {kind} values")


def _parse_impute(r: Reader, kinds: list[str]):
    r.only_keys({"op", "fill", "missing_value"})
    fill = []
    for j, item in enumerate(r.child("fill").items(len(kinds))):
        if item.value is None:
            fill.append(None)
        elif kinds[j] == NUMBER:
            fill.append(item.number())
        else:
            fill.append(item.str())
    mv = r.optional("missing_value")
    missing_value = None if mv is None else mv.scalar()
    return Impute(fill, missing_value), kinds


def _parse_missing_value(r: Reader, kinds: list[str]):
    r.only_keys({"op", "value", "compare"})
    _need(r, kinds, NUMBER, "missing_value")
    r.child("compare").str({"float32"})
    return MissingValue(r.child("value").number()), kinds


def _parse_standard(r: Reader, kinds: list[str]):
    r.only_keys({"op", "mean", "scale"})
    _need(r, kinds, NUMBER, "standard_scale")
    mean = r.optional("mean")
    scale = r.optional("scale")
    scale_arr = None if scale is None else scale.floats(len(kinds))
    if scale_arr is not None and (scale_arr == 0).any():
        raise scale.fail("a scale of 0 would divide by zero")
    return StandardScale(None if mean is None else mean.floats(len(kinds)), scale_arr), kinds


def _parse_min_max(r: Reader, kinds: list[str]):
    r.only_keys({"op", "scale", "offset", "clip"})
    _need(r, kinds, NUMBER, "min_max_scale")
    clip = r.optional("clip")
    bounds = None
    if clip is not None:
        lo, hi = clip.floats(2)
        if lo > hi:
            raise clip.fail("the lower clip bound is above the upper one")
        bounds = (float(lo), float(hi))
    return MinMaxScale(r.child("scale").floats(len(kinds)),
                       r.child("offset").floats(len(kinds)), bounds), kinds


def _parse_one_hot(r: Reader, kinds: list[str]):
    r.only_keys({"op", "encoders"})
    encs = tuple(OneHotColumn.parse(e, kinds[j])
                 for j, e in enumerate(r.child("encoders").items(len(kinds))))
    return OneHot(encs), [NUMBER] * sum(e.width for e in encs)


def _parse_ordinal(r: Reader, kinds: list[str]):
    r.only_keys({"op", "encoders"})
    encs = tuple(OrdinalColumn.parse(e, kinds[j])
                 for j, e in enumerate(r.child("encoders").items(len(kinds))))
    return Ordinal(encs), [NUMBER] * len(kinds)


def _parse_indices(r: Reader, width: int) -> tuple[int, ...]:
    idx = r.ints(minimum=0)
    if idx.size and idx.max() >= width:
        bad = int(np.flatnonzero(idx >= width)[0])
        raise Reader(int(idx[bad]), f"{r.path}[{bad}]", r.source).fail(
            f"column {int(idx[bad])} does not exist: this step receives {width} columns"
        )
    return tuple(int(i) for i in idx)


def _parse_select(r: Reader, kinds: list[str]):
    r.only_keys({"op", "columns"})
    cols = _parse_indices(r.child("columns"), len(kinds))
    return Select(cols), [kinds[j] for j in cols]


def _parse_column_transformer(r: Reader, kinds: list[str]):
    r.only_keys({"op", "blocks"})
    blocks, out_kinds = [], []
    for b in r.child("blocks").items():
        b.only_keys({"name", "columns", "steps"})
        if b.optional("name") is not None:
            b.child("name").str()
        cols = _parse_indices(b.child("columns"), len(kinds))
        steps, sub_kinds = parse_steps(b.child("steps"), [kinds[j] for j in cols])
        blocks.append(Block(cols, steps))
        out_kinds.extend(sub_kinds)
    return ColumnTransform(tuple(blocks)), out_kinds


_PARSERS = {
    "impute": _parse_impute,
    "missing_value": _parse_missing_value,
    "standard_scale": _parse_standard,
    "min_max_scale": _parse_min_max,
    "one_hot": _parse_one_hot,
    "ordinal": _parse_ordinal,
    "select": _parse_select,
    "column_transformer": _parse_column_transformer,
}


def parse_steps(r: Reader, kinds: list[str]) -> tuple[tuple, list[str]]:
    """Parse a list of steps fed by columns of `kinds`; return the steps and the output kinds."""
    steps = []
    for item in r.items():
        op = item.child("op").str(set(_PARSERS))
        step, kinds = _PARSERS[op](item, kinds)
        steps.append(step)
    return tuple(steps), kinds


"""Multivariate drift: do the model's inputs still move together as they did in the reference?

Two columns can keep their own distributions (so every univariate test in drift.py is quiet)
while the relation between them breaks: departure time no longer follows the scheduled time, a
feed joins one column to the wrong rows. This module measures that as NannyML's data
reconstruction drift does:

1. The reference rows (the bundle's labelled reference sample, as the univariate profile) are
   split in two halves by a seeded permutation (SEED): a *fit* half and a *calibration* half.
2. On the fit half, every number input is standardized (its mean and standard deviation;
   missing values take the mean, i.e. 0) and every category input is one-hot encoded over its
   TOP_CATEGORIES most frequent values, plus one column for missing and one for every other
   value, each one-hot column standardized too. Constant columns are left out.
3. PCA by numpy's SVD of that matrix keeps the fewest components whose share of the variance
   reaches VARIANCE (65%).
4. A row's error is the Euclidean distance between its standardized vector and its projection
   back from those components. The drift statistic is the mean error over the current rows.
5. Its threshold comes from the calibration half: rows the PCA never saw, like the current
   data, so in-sample overfitting cannot make the reference look better than new data from
   the same population. CHUNKS chunks of the current data's size (at most CHUNK_CAP rows,
   drawn with replacement, seeded) give the distribution of a chunk's mean error around the
   calibration mean; the threshold is that mean plus the chunks' (1 - alpha) quantile, scaled
   to the current size by sqrt(CHUNK_CAP / m) when the chunks were capped (the mean of m
   rows has sd / sqrt(m)), and widened by sqrt(1 + m / n) for the calibration sample's own
   noise (n rows): the two-sample noise sqrt(1/m + 1/n) of drift.sample_scale. `alpha` is the
   now-test's per-test share of its false-alarm budget (run.FAMILY_ALPHA, Bonferroni over the
   univariate tests and this one), so a file that has not drifted raises this alarm with
   probability about alpha. The test is one-sided: only a larger error is drift.

Fitted on the reference at first use, not at bundle build: every bundle with reference rows
gets it, old ones included, with no new bundle member to sign and validate; the fit takes a few
milliseconds on a few thousand rows and multivariate_scan caches it per reference (by the
SHA-256 of regression_cases.csv), and it is deterministic (SEED), so a re-run gives the same
numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.nowtest.tally import factorize, value_counts

VARIANCE = 0.65  # share of the reference's variance the kept components explain
TOP_CATEGORIES = 20  # one-hot columns per category input (plus missing and other)
SEED = 20130101
CHUNKS = 20000  # reference chunks drawn for the threshold
CHUNK_CAP = 1000  # rows per chunk at most (larger current data: scaled by sqrt)
MIN_REFERENCE = 100  # reference rows needed (half of them fit the PCA)
BLOCK = 100_000  # rows encoded at a time (bounds memory on a million rows)


@dataclass(frozen=True, slots=True)
class MultivariateDrift:
    """The multivariate drift of one file (or back-test partition)."""

    error: float  # mean reconstruction error of the current rows
    threshold: float  # drifted above it
    drifted: bool
    components: int  # principal components kept
    variance: float  # share of the reference's variance they explain
    columns: int  # standardized columns (numbers + one-hot categories)
    reference_error: float  # mean error of the calibration half of the reference
    reference_rows: int  # calibration rows
    current_rows: int
    alpha: float = 0.0

    @classmethod
    def from_json(cls, doc: dict | None) -> MultivariateDrift | None:
        if not doc:
            return None
        values = {f: doc[f] for f in cls.__dataclass_fields__ if f in doc}
        for f in ("error", "threshold", "reference_error"):
            if values.get(f) is None:
                values[f] = math.nan
        return cls(**values)


@dataclass(slots=True)
class Encoding:
    """How one input becomes standardized columns."""

    name: str
    kind: str  # "number" | "category"
    mean: np.ndarray  # per output column
    scale: np.ndarray  # per output column (> 0)
    vocab: dict[str, int] = field(default_factory=dict)  # category -> one-hot slot
    keep: np.ndarray | None = None  # one-hot slots kept (not constant)

    @property
    def missing_slot(self) -> int:
        return len(self.vocab)

    @property
    def other_slot(self) -> int:
        return len(self.vocab) + 1


def category_codes(values: np.ndarray, enc: Encoding) -> np.ndarray:
    """Text values (None = missing) -> one-hot slots (int16): the vocabulary's, missing or
    other."""
    codes, uniques = factorize(np.asarray(values, dtype=object))
    return slots_of(np.array([*uniques, None], dtype=object), enc)[codes]  # -1: the last, None


def slots_of(words: np.ndarray, enc: Encoding) -> np.ndarray:
    """The one-hot slot (int16) of each distinct text (None = missing): a column given as its
    distinct words and each row's index into them is coded as slots_of(words, enc)[index]."""
    return np.array([enc.missing_slot if w is None else enc.vocab.get(str(w), enc.other_slot)
                     for w in words], dtype=np.int16)


def _number_block(values: np.ndarray, enc: Encoding) -> np.ndarray:
    z = (values.astype(np.float64) - enc.mean[0]) / enc.scale[0]
    return np.where(np.isnan(z), 0.0, z)[:, None]


def _category_table(enc: Encoding) -> np.ndarray:
    """Per one-hot slot (a code of category_codes): the standardized columns a row with that
    code gets. Looking a block's rows up in it gives, bit for bit, what standardizing their
    one-hot matrix gives (the same float operations on the same numbers), without building
    that matrix."""
    onehot = np.eye(enc.other_slot + 1)
    return (onehot[:, enc.keep] - enc.mean) / enc.scale


def _category_block(codes: np.ndarray, enc: Encoding) -> np.ndarray:
    return _category_table(enc)[codes]


@dataclass(slots=True)
class Fit:
    encodings: list[Encoding]
    basis: np.ndarray  # columns x components
    variance: float
    calibration: np.ndarray  # errors of the calibration rows
    _quantiles: dict = field(default_factory=dict)
    _lookup: tuple | None = None  # what errors() derives from the basis, at its first call

    @property
    def components(self) -> int:
        return int(self.basis.shape[1])

    @property
    def columns(self) -> int:
        return int(self.basis.shape[0])

    def errors(self, numbers: dict[str, np.ndarray], codes: dict[str, np.ndarray]
               ) -> np.ndarray:
        """Per row: the reconstruction error. `numbers`: float columns (NaN = missing);
        `codes`: category columns as category_codes.

        The basis is orthonormal, so |z - z B B'|^2 = |z|^2 - |z B|^2, and a category's block
        of z is a row of its table (_category_table): its share of z B and of |z|^2 is looked
        up per slot (the table times its rows of B, and the table's squared row norms) instead
        of built per row. A back-test computes this on every row of its corpus; built row by
        row it cost about a third of the scoring (issue 16). Rounding differs from the direct
        formula in the last bits of each error (about 1e-15 of |z|^2)."""
        numeric = [e for e in self.encodings if e.kind == "number"]
        first_row, lookups = self._lookups()
        n = len(next(iter({**numbers, **codes}.values())))
        out = np.empty(n)
        for start in range(0, n, BLOCK):
            part = slice(start, min(n, start + BLOCK))
            if numeric:
                z = np.column_stack([_number_block(numbers[e.name][part], e)[:, 0]
                                     for e in numeric])
                projected = z @ self.basis[[first_row[e.name] for e in numeric]]
                squared = np.einsum("ij,ij->i", z, z)
            else:
                projected, squared = np.zeros((part.stop - start, self.components)), 0.0
            for name, (table_basis, table_squares) in lookups.items():
                rows = codes[name][part]
                projected += table_basis[rows]
                squared = squared + table_squares[rows]
            residual = squared - np.einsum("ij,ij->i", projected, projected)
            out[part] = np.sqrt(np.maximum(residual, 0.0))
        return out

    def _lookups(self) -> tuple[dict[str, int], dict[str, tuple[np.ndarray, np.ndarray]]]:
        """(each input's first row in the basis; per category input: its table times its rows
        of the basis, and the table's squared row norms, each indexed by slot). Derived at the
        first call (threads computing it at once compute the same)."""
        found = self._lookup
        if found is None:
            first_row, lookups, first = {}, {}, 0
            for e in self.encodings:
                width = 1 if e.kind == "number" else int(e.keep.size)
                first_row[e.name] = first
                if e.kind != "number":
                    table = _category_table(e)
                    lookups[e.name] = (table @ self.basis[first:first + width],
                                       np.einsum("ij,ij->i", table, table))
                first += width
            found = self._lookup = (first_row, lookups)
        return found

    def threshold(self, m: int, alpha: float) -> float:
        """The mean error above which `m` current rows have drifted (see the docstring)."""
        size = min(m, CHUNK_CAP)
        key = (size, alpha)
        if key not in self._quantiles:
            rng = np.random.default_rng([SEED, size])
            e = self.calibration
            means = np.concatenate([
                e[rng.integers(0, e.size, (min(1000, CHUNKS - b), size))].mean(axis=1)
                for b in range(0, CHUNKS, 1000)])
            self._quantiles[key] = float(np.quantile(means - e.mean(), 1 - alpha,
                                                     method="higher"))
        n = self.calibration.size
        q = self._quantiles[key] * math.sqrt(size / m) * math.sqrt(1 + m / n)
        return float(self.calibration.mean() + q)

    def test(self, numbers: dict[str, np.ndarray], codes: dict[str, np.ndarray], alpha: float
             ) -> MultivariateDrift | None:
        """The multivariate drift of the current rows (None without any)."""
        return self.judge(self.errors(numbers, codes), alpha)

    def judge(self, err: np.ndarray, alpha: float) -> MultivariateDrift | None:
        """The verdict on rows whose errors are `err` (None without any)."""
        if not err.size:
            return None
        error, threshold = float(err.mean()), self.threshold(err.size, alpha)
        return MultivariateDrift(error, threshold, bool(error > threshold), self.components,
                                 self.variance, self.columns, float(self.calibration.mean()),
                                 int(self.calibration.size), int(err.size), alpha)


def _number_encoding(name: str, values: np.ndarray) -> Encoding | None:
    present = values[~np.isnan(values)]
    std = float(present.std()) if present.size else 0.0
    if std == 0:
        return None
    return Encoding(name, "number", np.array([present.mean()]), np.array([std]))


def _category_encoding(name: str, values: np.ndarray) -> Encoding | None:
    present = [v for v, _ in value_counts(values) if v is not None]
    vocab = {str(v): i for i, v in enumerate(present[:TOP_CATEGORIES])}
    enc = Encoding(name, "category", np.zeros(0), np.zeros(0), vocab)
    onehot = np.zeros((values.size, enc.other_slot + 1))
    onehot[np.arange(values.size), category_codes(values, enc)] = 1.0
    std = onehot.std(axis=0)
    enc.keep = np.flatnonzero(std > 0)
    if not enc.keep.size:
        return None
    enc.mean, enc.scale = onehot.mean(axis=0)[enc.keep], std[enc.keep]
    return enc


def components_for(singular: np.ndarray, variance: float = VARIANCE) -> int:
    """The fewest components whose share of the variance reaches `variance`."""
    share = np.cumsum(singular ** 2) / np.sum(singular ** 2)
    return int(np.searchsorted(share, variance - 1e-12) + 1)


def split(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, calibration rows) of n reference rows: a seeded permutation in halves."""
    order = np.random.default_rng(SEED).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2:])


def fit_reference(numbers: dict[str, np.ndarray], categories: dict[str, np.ndarray]
                  ) -> Fit | None:
    """The PCA of the reference rows (numbers: float, NaN = missing; categories: text, None =
    missing); None with fewer than MIN_REFERENCE rows or no column that varies."""
    columns = {**numbers, **categories}
    n = len(next(iter(columns.values()))) if columns else 0
    if n < MIN_REFERENCE:
        return None
    fit_rows, calib_rows = split(n)
    encodings = []
    for name, values in columns.items():
        part = np.asarray(values)[fit_rows]
        enc = (_number_encoding(name, part.astype(np.float64)) if name in numbers
               else _category_encoding(name, part))
        if enc is not None:
            encodings.append(enc)
    if not encodings:
        return None
    codes = {e.name: category_codes(np.asarray(categories[e.name]), e)
             for e in encodings if e.kind == "category"}
    z = np.hstack([_number_block(numbers[e.name][fit_rows], e) if e.kind == "number"
                   else _category_block(codes[e.name][fit_rows], e) for e in encodings])
    _, singular, vt = np.linalg.svd(z, full_matrices=False)
    k = components_for(singular)
    fit = Fit(encodings, vt[:k].T, float(np.sum(singular[:k] ** 2) / np.sum(singular ** 2)),
              np.zeros(0))
    fit.calibration = fit.errors({k_: v[calib_rows] for k_, v in numbers.items()},
                                 {k_: v[calib_rows] for k_, v in codes.items()})
    return fit

"""The bootstrap's compiled kernels (engine.backtest.resample), as plain Python that numba
compiles: ahead of time into engine/backtest/_resample_aot (installer/kernels.py, `make setup`)
or, where that module is missing or stale, just in time at the first back-test. This file is
their only source: its hash is the module's stamp, so nothing else lives here."""

from __future__ import annotations

import numpy as np


def fill_counts(halves, n, counts, pos):  # pragma: no cover - compiled
    """Add draws to counts (draws x n, row-major) from 32-bit random halves (of 64-bit words,
    the low half first), one draw per half unless rejected, until all draws x n are made or
    the halves run out; returns how many are made. Each draw's row is filled in a loop that
    checks only its end (a quarter faster than checking the block's end at every half)."""
    draws = counts.shape[0]
    b, i = pos // n, pos % n
    nn = np.uint64(n)
    low = np.uint64(0xFFFFFFFF)
    reject_below = (np.uint64(4294967296) - nn) % nn  # 2**32 mod n
    k = 0
    total = halves.shape[0]
    while b < draws:
        row = counts[b]
        while i < n:
            if k >= total:
                return b * n + i
            m = np.uint64(halves[k]) * nn
            k += 1
            if (m & low) >= reject_below:
                row[m >> np.uint64(32)] += 1
                i += 1
        b += 1
        i = 0
    return b * n


def auc_parts(counts, order, positive, group_end):  # pragma: no cover - compiled
    """Per draw: twice the ROC area (trapezoids), and the weights of positives and negatives.
    `order` sorts rows by descending score; positive and group_end are in that order.

    Two draws are walked together (the last one twice when their number is odd): each row's
    index, class and group end are read and branched on once for both, and the two draws' sums
    are independent chains the processor runs side by side (~30% faster on a month of the
    demo corpus than one draw at a time; four at a time ran out of registers). The sums are
    the same integer operations in the same order per draw, so the results are identical."""
    draws = counts.shape[0]
    out = np.zeros((draws, 3), dtype=np.int64)
    for b in range(0, draws, 2):
        c0 = counts[b]
        c1 = counts[min(b + 1, draws - 1)]
        tp0 = fp0 = gp0 = gn0 = area0 = 0
        tp1 = fp1 = gp1 = gn1 = area1 = 0
        for k in range(order.shape[0]):
            j = order[k]
            w0 = np.int64(c0[j])
            w1 = np.int64(c1[j])
            if positive[k]:
                gp0 += w0
                gp1 += w1
            else:
                gn0 += w0
                gn1 += w1
            if group_end[k]:
                area0 += gn0 * (2 * tp0 + gp0)
                tp0 += gp0
                fp0 += gn0
                area1 += gn1 * (2 * tp1 + gp1)
                tp1 += gp1
                fp1 += gn1
                gp0 = gn0 = gp1 = gn1 = 0
        out[b, 0] = area0
        out[b, 1] = tp0
        out[b, 2] = fp0
        if b + 1 < draws:
            out[b + 1, 0] = area1
            out[b + 1, 1] = tp1
            out[b + 1, 2] = fp1
    return out

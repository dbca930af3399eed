"""pack_trees' dense levels (per tree, the depth of its shallowest leaf, at most MAX_DENSE)
against a plain walk of each tree, on random forests; computed without np.unique, whose first
call imports numpy.ma (start-up of `ratchet predict`, issue 16)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from engine.model.tree_kernel import MAX_DENSE, _shallowest_leaf


def random_tree(draw_splits: list[bool]) -> tuple[list[int], list[int]]:
    """A tree grown breadth first: each node in turn splits while draw_splits says so."""
    left, right, queue = [-1], [-1], [0]
    for split in draw_splits:
        if not queue:
            break
        node = queue.pop(0)
        if split:
            left[node], right[node] = len(left), len(left) + 1
            left += [-1, -1]
            right += [-1, -1]
            queue += [len(left) - 2, len(left) - 1]
    return left, right


def shallowest(left, right, node=0, depth=0) -> int:
    if left[node] < 0 or depth >= MAX_DENSE:
        return min(depth, MAX_DENSE)
    return min(shallowest(left, right, left[node], depth + 1),
               shallowest(left, right, right[node], depth + 1))


@given(st.lists(st.lists(st.booleans(), max_size=40), min_size=1, max_size=6))
def test_dense_levels_are_each_trees_shallowest_leaf(shapes):
    trees = [random_tree(s) for s in shapes]
    roots = np.cumsum([0] + [len(t[0]) for t in trees[:-1]])
    left = np.concatenate([np.where(np.array(t[0]) >= 0, np.array(t[0]) + r, -1)
                           for t, r in zip(trees, roots, strict=True)])
    right = np.concatenate([np.where(np.array(t[1]) >= 0, np.array(t[1]) + r, -1)
                            for t, r in zip(trees, roots, strict=True)])
    got = _shallowest_leaf(left, right, roots)
    assert got.tolist() == [shallowest(*t) for t in trees]

"""The codes in the tree kernel's node records (layout: engine/model/tree_kernel.py). Their own
module, so that the compiled walk (tree_walk) and the layout (tree_kernel) share them, and the
ahead-of-time build's freshness stamp covers them."""

import numpy as np

LEAF = np.uint32(1 << 31)  # in a child or root code: the low bits index leaf_value
MISSING_LEFT = np.uint32(1 << 31)  # in a record's feat: a missing value goes left
ZERO_MISSING = np.uint32(1 << 30)  # in a record's feat: a zero goes where a missing value goes
CATEGORICAL = np.uint32(1 << 29)  # in a record's feat: a category-set split (thr: its bitset)
FEATURE = np.uint32((1 << 29) - 1)  # in a record's feat: the low bits are the feature index

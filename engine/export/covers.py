"""Node covers are all or nothing: if one tree could not give them, no tree keeps them (the
model then predicts as before and says explanations are unavailable)."""

from __future__ import annotations


def all_or_no_covers(trees: list[dict]) -> list[dict]:
    if not all("cover" in t for t in trees):
        for t in trees:
            t.pop("cover", None)
    return trees

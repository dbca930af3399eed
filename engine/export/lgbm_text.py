"""Publisher side: LightGBM's text model (`Booster.save_model` / `model_to_string`), read
directly, without LightGBM and without pickle.

The file is a header of `key=value` lines, then one block per tree (`Tree=N` followed by
`key=value` lines of space-separated arrays), `end of trees`, feature importances, the training
parameters and `pandas_categorical:` (a JSON list, or null). Numbers are printed by LightGBM
with 17 significant digits, so Python's correctly rounded float() gets every double back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from engine.errors import UnsupportedModel

TREE_ARRAYS = ("split_feature", "threshold", "decision_type", "left_child", "right_child",
               "leaf_value", "cat_boundaries", "cat_threshold", "leaf_const", "num_features",
               "leaf_features", "leaf_coeff", "internal_count", "leaf_count")


@dataclass(slots=True)
class LgbTree:
    num_leaves: int
    num_cat: int
    is_linear: bool
    arrays: dict[str, list[str]]

    def ints(self, key: str) -> list[int]:
        return [int(v) for v in self.arrays.get(key, [])]

    def floats(self, key: str) -> list[float]:
        return [float(v) for v in self.arrays.get(key, [])]


@dataclass(slots=True)
class LgbModel:
    objective: str
    objective_params: dict[str, str]
    num_class: int
    trees_per_iteration: int
    feature_names: list[str]
    average_output: bool
    trees: list[LgbTree]
    parameters: dict[str, str] = field(default_factory=dict)
    pandas_categorical: list | None = None
    feature_infos: list[str] = field(default_factory=list)

    @property
    def categorical_features(self) -> list[int]:
        """The features trained as categorical: `categorical_feature` among the parameters,
        else those whose feature_infos lists categories ("-1:0:2") rather than "[lo:hi]"."""
        given = self.parameters.get("categorical_feature", "").strip()
        if given and all(p.strip().isdigit() for p in given.split(",")):
            return sorted(int(p) for p in given.split(","))
        return [j for j, info in enumerate(self.feature_infos)
                if info not in {"", "none"} and not info.startswith("[")]

    @property
    def boosting(self) -> str:
        return self.parameters.get("boosting", "gbdt")


def _bad(why: str) -> UnsupportedModel:
    return UnsupportedModel(f"this is not a LightGBM text model that Ratchet can read: {why}.",
                            code="E_UNSUPPORTED_MODEL")


def _key_values(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        if "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
        elif line.strip():
            out[line.strip()] = ""
    return out


def parse_lightgbm_text(text: str) -> LgbModel:
    """The parts of a LightGBM text model that prediction needs."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "tree":
        raise _bad("it does not start with the line 'tree'")
    try:
        end = next(i for i, line in enumerate(lines) if line.strip() == "end of trees")
    except StopIteration:
        raise _bad("it has no 'end of trees' line (is the file complete?)") from None
    starts = [i for i in range(end) if lines[i].startswith("Tree=")]
    header = _key_values(lines[1:starts[0] if starts else end])
    for key in ("num_class", "num_tree_per_iteration", "objective", "feature_names"):
        if key not in header:
            raise _bad(f"the header lacks {key!r}")
    trees = []
    for k, start in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else end
        block = _key_values(lines[start + 1:stop])
        try:
            trees.append(LgbTree(
                num_leaves=int(block["num_leaves"]),
                num_cat=int(block.get("num_cat", "0")),
                is_linear=block.get("is_linear", "0") == "1",
                arrays={key: block[key].split() for key in TREE_ARRAYS if key in block}))
        except (KeyError, ValueError) as exc:
            raise _bad(f"tree {k} is malformed ({exc})") from None
    if not trees:
        raise _bad("it holds no trees")
    objective, *params = header["objective"].split()
    return LgbModel(
        objective=objective,
        objective_params=dict(p.split(":", 1) if ":" in p else (p, "") for p in params),
        num_class=int(header["num_class"]),
        trees_per_iteration=int(header["num_tree_per_iteration"]),
        feature_names=header["feature_names"].split(),
        average_output="average_output" in header,
        trees=trees,
        parameters=_parameters(lines[end:]),
        pandas_categorical=_pandas_categorical(lines[end:]),
        feature_infos=header.get("feature_infos", "").split(),
    )


def _parameters(lines: list[str]) -> dict[str, str]:
    out = {}
    inside = False
    for line in lines:
        line = line.strip()
        if line == "parameters:":
            inside = True
        elif line == "end of parameters":
            break
        elif inside and line.startswith("[") and ": " in line:
            key, _, value = line[1:-1].partition(": ")
            out[key] = value
    return out


def _pandas_categorical(lines: list[str]) -> list | None:
    for line in lines:
        if line.startswith("pandas_categorical:"):
            try:
                return json.loads(line.partition(":")[2])
            except ValueError:
                raise _bad("its pandas_categorical line is not JSON") from None
    return None

"""The preprocessing in front of each family: only steps our exporter supports.

- scaled-one-hot (linear models): numbers get the median for a missing value, then are
  standardized; categories are one-hot encoded, categories seen in fewer than
  MIN_CATEGORY_ROWS training rows share one "infrequent" column, and an unseen category goes
  there too (or nowhere when there is none): the model scores it instead of refusing it.
- imputed-ordinal (forests, gradient boosting, single trees): numbers get the median for a
  missing value; categories become ordinal codes, with -1 for a missing or unseen category.
- native-ordinal (HistGradientBoosting): numbers pass through (it learns where missing values
  go); categories as above.
"""

from __future__ import annotations

MIN_CATEGORY_ROWS = 20


def _categories_step(encoding: str):
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    if encoding == "scaled-one-hot":
        return OneHotEncoder(handle_unknown="infrequent_if_exist",
                             min_frequency=MIN_CATEGORY_ROWS)
    return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                          encoded_missing_value=-1)


def _numbers_step(encoding: str):
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if encoding == "native-ordinal":
        return "passthrough"
    if encoding == "scaled-one-hot":
        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    return SimpleImputer(strategy="median")


def preprocessor(encoding: str, numeric: list[str], categorical: list[str]):
    """An unfitted ColumnTransformer for the family's encoding."""
    from sklearn.compose import ColumnTransformer

    blocks = []
    if numeric:
        blocks.append(("num", _numbers_step(encoding), list(numeric)))
    if categorical:
        blocks.append(("cat", _categories_step(encoding), list(categorical)))
    return ColumnTransformer(blocks)

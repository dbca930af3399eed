"""A row the model cannot score because of an infinite number names the column and the value
(`inf`, `-inf`, or a number too large for a float, such as 1e999)."""

from __future__ import annotations

import csv
import io

import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from engine.batch.score import score_csv
from tests.engine.conftest import roundtrip
from tests.engine.test_parity_pipelines import mixed_frame


def test_an_infinite_value_is_named_with_its_column(tmp_path):
    df, y = mixed_frame(300, seed=5)
    df = df[["a", "b", "c"]]
    fitted = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression()).fit(df, y)
    model, _doc = roundtrip(fitted, df, y)
    src = tmp_path / "in.csv"
    rows = df.head(8).astype(object).where(df.head(8).notna(), "")
    rows.loc[1, "b"] = "inf"
    rows.loc[3, "a"] = "-inf"
    rows.loc[5, "c"] = "1e999"
    rows.to_csv(src, index=False)
    out = tmp_path / "out.csv"
    result = score_csv(src, out, model, "m@1")
    assert result.rejected == 3
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    error = got["error"]
    assert error[1] == ("column 'b': inf is not a finite number, and this model cannot score "
                        "an infinite value; give a finite number")
    assert error[3].startswith("column 'a': -inf is not a finite number")
    assert error[5].startswith("column 'c': inf is not a finite number")
    assert (got["status"] == "ok").sum() == 5
    written = list(csv.reader(io.StringIO(out.read_text())))
    assert written[2][1] == "inf"  # the input text is kept as written

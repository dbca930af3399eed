"""Drift alarms on the Monitor page say their numbers in words (issue 14: "Value 5e-23 /
Bound 0.000164" said nothing): a test's p-value, a distance, or a share of missing values,
each with what would have raised the alarm; the messages are the engine's own."""

from engine.nowtest.drift import FeatureDrift
from engine.nowtest.reasons import drift_reason
from gui.pages.monitor_tables import drift_words


def feature(**kw) -> FeatureDrift:
    fields = {f: None for f in FeatureDrift.__dataclass_fields__}
    fields.update(kw)
    return FeatureDrift(**fields)


def words(d: FeatureDrift):
    reason = drift_reason("m@1", d, "f.csv")
    return drift_words(reason.message, reason.value, reason.bound)


def test_a_p_value_a_distance_and_a_missing_share_each_in_words():
    base = dict(feature="carrier", drifted=True, missing_drifted=False, missing_current=0.0,
                missing_reference=0.0, current_rows=3000, reference_rows=5000)
    assert words(feature(**base, test="chi2", p_value=5e-23, statistic=120.0,
                         threshold=0.000164)) == ("p = 5e-23", "alarm below p 0.00016")
    assert words(feature(**base, test="wasserstein", p_value=None, statistic=0.31,
                         threshold=0.11)) == ("distance 0.31", "alarm above 0.11")
    missing = {**base, "missing_drifted": True, "missing_current": 0.41,
               "missing_reference": 0.02}
    assert words(feature(**missing, test="wasserstein", p_value=None, statistic=0.01,
                         threshold=0.11)) == ("41.0% missing", "2.0% in the reference")
    assert drift_words("something else", 1.0, 2.0) is None

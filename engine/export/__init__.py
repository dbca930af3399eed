"""Publisher side: scikit-learn models -> ratchet-coefficients/1. Needs the `publish` extra."""

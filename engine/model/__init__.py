"""The coefficient format (ratchet-coefficients/1) and the predictor that runs it."""

from engine.model.model import FORMAT, Feature, Model, Prediction, load_coefficients

__all__ = ["FORMAT", "Feature", "Model", "Prediction", "load_coefficients"]

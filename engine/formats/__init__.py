"""The file formats that travel inside a bundle beside the coefficients: requirements
(`ratchet-requirements/1`) and regression cases (`regression_cases.csv`)."""

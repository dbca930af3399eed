"""Regression cases and requirements that travel inside every bundle."""

"""Batch scoring of CSV files."""

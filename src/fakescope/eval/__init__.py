"""Evaluation: metrics, protocols (degradations, format alignment, cross-generator), reports."""

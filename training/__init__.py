"""Fit, judge, log to MLflow, register and promote the two models."""

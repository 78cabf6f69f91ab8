"""Estimators, baselines, the decision policy and reasons. Imports features' names only."""

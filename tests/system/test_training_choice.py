"""Training logs which model families the estimator kept and why, and the served model is the one chosen."""

from __future__ import annotations

import math

import pytest


@pytest.mark.parametrize("task", ["risk", "recovery"])
def test_the_choice_and_its_inner_validation_are_in_the_run(trained_registry, task):
    from mlflow import MlflowClient

    from klinik.models.persist import load_model

    s = trained_registry.summary[task]
    client = MlflowClient(tracking_uri=trained_registry.tracking_uri)
    run = client.get_run(s["run_id"])
    params, metrics = run.data.params, run.data.metrics
    assert "time" in params["choice_validation"]  # later years scored by refits on earlier ones
    kept = dict(part.split(":") for part in params["choice"].split(","))
    for name in params["choice_candidates"].split(","):
        for key in ("log_loss", "roc_auc", "weight"):
            assert math.isfinite(metrics[f"choice_{name}_{key}"]), (name, key)
        assert (name in kept) == (metrics[f"choice_{name}_weight"] > 0), name
    singles = [metrics[f"choice_{n}_log_loss"] for n in params["choice_candidates"].split(",")]
    assert metrics["choice_blend_log_loss"] <= min(singles) + 1e-3
    model = load_model(s["model_uri"], tracking_uri=trained_registry.tracking_uri)
    assert model[-1].member_names_ == list(kept)
    assert list(model[-1].weights_) == pytest.approx([float(w) for w in kept.values()], abs=1e-3)

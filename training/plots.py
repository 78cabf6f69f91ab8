"""Figures logged with every run: ROC and PR curves, calibration curve, importance by feature and by group.

matplotlib with the Agg backend (no display); each function returns a Figure the caller logs and closes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def roc_pr_curves(y, predictions: dict[str, np.ndarray], title: str):
    """ROC (left) and precision-recall (right) curves of the model, baselines and truth on the holdout."""
    from sklearn.metrics import auc, precision_recall_curve, roc_curve

    plt = _plt()
    fig, (ax_roc, ax_pr) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name, p in predictions.items():
        fpr, tpr, _ = roc_curve(y, p)
        prec, rec, _ = precision_recall_curve(y, p)
        style = {"lw": 2.2} if name == "model" else {"lw": 1.1, "ls": "--" if name == "truth" else "-"}
        ax_roc.plot(fpr, tpr, label=f"{name} (AUC {auc(fpr, tpr):.3f})", **style)
        ax_pr.plot(rec, prec, label=name, **style)
    ax_roc.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax_roc.set(xlabel="false positive rate", ylabel="true positive rate", title=f"{title}: ROC")
    ax_pr.axhline(np.mean(y), color="grey", lw=0.8)
    ax_pr.set(xlabel="recall", ylabel="precision", title=f"{title}: precision-recall")
    ax_roc.legend(fontsize=8, loc="lower right")
    ax_pr.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def calibration_curve(points: dict[str, pd.DataFrame], title: str):
    """Observed rate against mean prediction per equal-width bin (training/evaluate.calibration_points)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = 0.0
    for name, pts in points.items():
        ax.plot(pts["predicted"], pts["observed"], marker="o", ms=3, label=name, lw=2.2 if name == "model" else 1.1)
        top = max(top, float(pts["predicted"].max()), float(pts["observed"].max()))
    top = min(1.0, top * 1.05 + 0.01)
    ax.plot([0, top], [0, top], color="grey", lw=0.8)
    ax.set(
        xlim=(0, top),
        ylim=(0, top),
        xlabel="mean predicted probability",
        ylabel="observed rate",
        title=f"{title}: calibration (10 equal-width bins)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def importance(contribs: pd.DataFrame, groups: dict[str, str], title: str, top: int = 25):
    """Mean |TreeSHAP contribution| on the holdout, by feature (top ``top``) and summed by group."""
    plt = _plt()
    mean_abs = contribs.drop(columns="bias", errors="ignore").abs().mean().sort_values(ascending=False)
    by_group = mean_abs.groupby(lambda c: groups.get(c, "OTHER")).sum().sort_values()
    fig, (ax_f, ax_g) = plt.subplots(
        1, 2, figsize=(12, max(4.0, 0.25 * min(top, len(mean_abs)) + 1)), gridspec_kw={"width_ratios": [2, 1]}
    )
    shown = mean_abs.head(top)[::-1]
    ax_f.barh(shown.index, shown.to_numpy(), color=[_group_colour(groups.get(c)) for c in shown.index])
    ax_f.set(xlabel="mean |contribution| (log-odds)", title=f"{title}: importance by feature")
    ax_f.tick_params(axis="y", labelsize=7)
    ax_g.barh(by_group.index, by_group.to_numpy(), color=[_group_colour(g) for g in by_group.index])
    ax_g.set(xlabel="sum of mean |contribution|", title="by group")
    fig.tight_layout()
    return fig


def _group_colour(group: str | None) -> str:
    return {"KEUANGAN": "tab:blue", "SDM": "tab:orange", "KELEMBAGAAN": "tab:green", "CONTEXT": "tab:grey"}.get(
        group or "", "tab:purple"
    )

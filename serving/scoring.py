"""The scoring core shared by the batch job and the HTTP service: records in, the contract's scores out.

Both paths call ``score_dataset`` on a loaded Dataset, so the same records give the same numbers, reasons and
actions through either. Nothing here writes files; MLflow is imported only inside ``load_models``.

Choices made here (documented in the README through the batch job):
- Who is scored: every cooperative registered by ``as_of_year`` (founded_year <= as_of_year) and not dissolved
  by then (dissolved_year empty or later than as_of_year).
- status: from the latest health assessment dated ``as_of_year`` or up to ``Settings.status_max_age_years``
  before it (the rule of features/status.py, which the labels apply too); with none, BELUM_DINILAI. An BELUM_DINILAI
  cooperative is treated as not sick: it gets ``p_sick_next`` (empty ``p_recover``) and can be reached out to
  (JANGKAU) like a healthy one -- the risk model sees how long ago it was assessed (``never_assessed``,
  ``years_since_assessment``).
- p_sick_next from the risk model for coops not sick now; p_recover from the recovery model for coops sick now.
- clinic and reasons from the RISK model's TreeSHAP contributions for everyone (models/reasons.py says why).
  For a cooperative sick now the clinic sums its contributions of now and of the last year before its sick
  spell began (models.explain.spell_contributions: why it fell sick, read where the risk model was trained),
  the routing training judges against the simulator's cause; its reasons stay those of now. The reasons of the
  chosen clinic's area come first, and ``clinic_basis`` says each area's part of the push the clinic was chosen
  from. For a cooperative sick now, what holds its recovery back and what helps it come from the RECOVERY model.
- action from models.policy.decide; the outreach list is capped at ``capacity`` (default: the clinic's share of
  the cooperatives scored together) or cut where the population's list ended (``cutoff``: the service's /score);
  rank from models.policy.outreach_rank.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from klinik.data.contract import CLINICS, SCORE_COLUMNS, STATUS_SAKIT

if TYPE_CHECKING:
    from klinik.data.dataset import Dataset
    from klinik.models.policy import OutreachCutoff
    from klinik.settings import Settings

CHUNK_ROWS = 32_768  # rows per predict/contrib call: bounds memory and moves the progress bar
EVIDENCE_COLUMNS = (
    "coop_id",
    "name",
    "district",
    "coop_type",
    "health_year",
    "health_category",
    "health_score",
    "score_trend",
    "score_change",
    "years_sick",
    "rat_missed_years",
    "reasons_en",
    "clinic_basis",
    "clinic_basis_en",
    "certainty",  # where the interval of p_recover straddles a line: the estimate is uncertain (models/policy.py)
    "certainty_en",
)


class ModelNotFound(LookupError):
    """The registry holds no model for the name and version or alias asked for."""


class IncompatibleModel(RuntimeError):
    """A registered model this code cannot score with: it wants input columns the code does not build, or it
    was trained with other settings of its features and labels (klinik.settings.FEATURE_LABEL_SETTINGS)."""


@dataclass(frozen=True)
class LoadedModels:
    """Both fitted estimators (sklearn Pipelines with calibrated predict_proba) and where they came from."""

    risk: Any
    recovery: Any
    risk_name: str
    recovery_name: str
    risk_version: str
    recovery_version: str
    risk_run_id: str | None = None
    recovery_run_id: str | None = None
    tracking_uri: str = ""

    @property
    def model_version(self) -> str:
        """The value of the scores' model_version column, e.g. "koperasi-risk/3,koperasi-recovery/2"."""
        return f"{self.risk_name}/{self.risk_version},{self.recovery_name}/{self.recovery_version}"

    def summary(self) -> dict:
        """Names, versions and runs, for a manifest or a health endpoint (no estimators)."""
        return {
            "model_version": self.model_version,
            "tracking_uri": self.tracking_uri,
            "risk": {"name": self.risk_name, "version": self.risk_version, "run_id": self.risk_run_id},
            "recovery": {"name": self.recovery_name, "version": self.recovery_version, "run_id": self.recovery_run_id},
        }


@dataclass
class ScoreResult:
    """What one scoring pass produces.

    ``scores``: the contract's Scores table (SCORE_COLUMNS), ordered by rank; ``reasons``: the structured reasons,
    one row per (coop_id, position), columns models.reasons.REASON_COLUMNS; ``evidence``: per coop the facts
    behind the action (EVIDENCE_COLUMNS: name, district, type, latest health, trend, years sick, years without
    an RAT, reasons in English, each clinic area's part of the push the clinic was chosen from), same order as
    ``scores``; ``capacity``: the outreach limit applied; ``source``: the dataset scored.
    """

    scores: pd.DataFrame
    reasons: pd.DataFrame
    evidence: pd.DataFrame
    capacity: int | None
    as_of_year: int
    model_version: str
    contributions: pd.DataFrame | None = field(default=None, repr=False)
    source: str = ""

    def reasons_for(self, coop_id: str) -> list[dict]:
        from klinik.models.reasons import reasons_for

        return reasons_for(self.reasons, coop_id)


def parse_model_version(spec: str | None) -> dict[str, tuple[str, str]]:
    """Read ``--model-version``: which registered version (or alias) of each model to load.

    None -> both champions. "3" -> version 3 of both. "risk=3,recovery=2" -> each its own; a model left out keeps
    its champion. A value of digits is a version number, anything else an alias ("challenger").
    Returns {"risk": ("version"|"alias", value), "recovery": (...)}.
    """
    chosen = {"risk": ("alias", "champion"), "recovery": ("alias", "champion")}

    def one(value: str) -> tuple[str, str]:
        value = value.strip().lstrip("@")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
            raise ValueError(f"model version {value!r}: expected a number (3) or an alias (champion)")
        return ("version", value) if value.isdigit() else ("alias", value)

    if spec is None or not spec.strip():
        return chosen
    if "=" not in spec:
        chosen["risk"] = chosen["recovery"] = one(spec)
        return chosen
    for part in spec.split(","):
        key, _, value = part.partition("=")
        key = key.strip()
        if key not in chosen or not value.strip():
            raise ValueError(f"--model-version {spec!r}: expected e.g. 3 or risk=3,recovery=2 (keys: risk, recovery)")
        chosen[key] = one(value)
    return chosen


def load_models(settings: Settings, model_version: str | None = None, *, n_threads: int | None = 1) -> LoadedModels:
    """Load both registered models (champions, or the versions ``model_version`` names, see parse_model_version).

    ``n_threads``: LightGBM threads for prediction (1 suits a server answering few rows; the batch job passes the
    number of cores); None keeps what the model was trained with. Raises ModelNotFound with what to do,
    IncompatibleModel when a model's features and labels were built with other settings than ``settings`` (its
    version's tags record them) and models.persist.ModelLoadError for an artifact that cannot be loaded safely.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from klinik.models.persist import load_model

    wanted = parse_model_version(model_version)
    uri = settings.mlflow_uri
    # MLflow 3.17 resolves "models:/name/version" with the process-wide registry URI; load_model points it at
    # our store only while it loads (models.persist.mlflow_store), so nothing leaks into the rest of the process.
    client = MlflowClient(tracking_uri=uri)
    loaded: dict[str, Any] = {}
    for kind, name in (("risk", settings.risk_model_name), ("recovery", settings.recovery_model_name)):
        how, value = wanted[kind]
        try:
            if how == "version":
                mv = client.get_model_version(name, value)
            else:
                mv = client.get_model_version_by_alias(name, value)
        except MlflowException as err:
            if not any(code in str(err.error_code) for code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER")):
                raise  # the store cannot be reached or read: not a missing model (the command says which)
            what = f"version {value}" if how == "version" else f"alias @{value}"
            raise ModelNotFound(
                f"no registered model {name} {what} in the MLflow store {uri}: run `klinik train` first "
                f"(or choose another --model-version)"
            ) from err
        refused = settings.mismatch(mv.tags or {}, f"the {kind} model {name} v{mv.version}")
        if refused:
            raise IncompatibleModel(refused)
        model = load_model(f"models:/{name}/{mv.version}", tracking_uri=uri, n_jobs=n_threads)
        loaded[kind] = (model, str(mv.version), mv.run_id)
    return LoadedModels(
        risk=loaded["risk"][0],
        recovery=loaded["recovery"][0],
        risk_name=settings.risk_model_name,
        recovery_name=settings.recovery_model_name,
        risk_version=loaded["risk"][1],
        recovery_version=loaded["recovery"][1],
        risk_run_id=loaded["risk"][2],
        recovery_run_id=loaded["recovery"][2],
        tracking_uri=uri,
    )


def registered_coops(ds: Dataset, as_of_year: int) -> pd.DataFrame:
    """The cooperatives that exist at ``as_of_year`` (registered by then, not dissolved by then: the same rows
    as build_features and make_labels), with their cooperatives-table columns, sorted by coop_id."""
    from klinik.features.build import registered_coop_years

    ids = registered_coop_years(ds, [as_of_year])["coop_id"]
    coops = ds.cooperatives.assign(coop_id=ds.cooperatives["coop_id"].astype(str))
    return coops.set_index("coop_id").loc[ids.to_numpy()].reset_index()


def health_facts(ds: Dataset, coop_ids: pd.Index, as_of_year: int, settings: Settings) -> pd.DataFrame:
    """Per coop: status at ``as_of_year`` (the rule of features/status.py, as in the labels), the year, category
    and score of the assessment that set it, and the office's health score over the last three years
    ("58 → 52 → 47", "?" for a year not assessed)."""
    from klinik.features.status import latest_assessment, status_of

    health = ds.health
    position = latest_assessment(health, coop_ids, [as_of_year], settings.status_max_age_years)[:, 0]
    found = position >= 0
    latest = health.iloc[position[found]].set_index(coop_ids[found]).reindex(coop_ids)
    status = status_of(health, position)

    h = health.loc[(health["year"] <= as_of_year) & (health["year"] > as_of_year - 3)]
    # coop_ids is unique (a key): its hash table answers membership without isin's conversion to Python objects
    h = h.loc[coop_ids.get_indexer(h["coop_id"]) >= 0]
    recent = h.pivot_table(index="coop_id", columns="year", values="score", aggfunc="last").reindex(
        index=coop_ids, columns=range(as_of_year - 2, as_of_year + 1)
    )
    words = [recent[y].round().astype("Int64").astype("str").fillna("?") for y in recent.columns]
    trend = words[0].str.cat(words[1:], sep=" → ")
    trend = np.where(recent.notna().any(axis=1).to_numpy(), trend.to_numpy(dtype=object), "")
    first = recent.bfill(axis=1).iloc[:, 0]
    last = recent.ffill(axis=1).iloc[:, -1]
    return pd.DataFrame(
        {
            "status": status,
            "health_year": latest["year"].astype("Int64").array,
            "health_category": latest["category"].to_numpy(dtype=object),
            "health_score": latest["score"].to_numpy(dtype=float),
            "score_trend": trend,
            "score_change": (last - first).to_numpy(dtype=float),
        },
        index=coop_ids,
    )


def _in_chunks(n: int, progress: bool, desc: str):
    from tqdm import tqdm

    starts = range(0, n, CHUNK_ROWS)
    return tqdm(starts, desc=desc, unit="chunk", file=sys.stderr, disable=not progress, leave=False)


def _predict(model: Any, X: pd.DataFrame, progress: bool, desc: str) -> np.ndarray:
    """Each row's probability and the ends of its 80% interval (models/intervals.py), as three columns."""
    from klinik.models.intervals import predict_with_interval

    out = np.full((len(X), 3), np.nan)
    for start in _in_chunks(len(X), progress, desc):
        part = X.iloc[start : start + CHUNK_ROWS]
        out[start : start + len(part)] = np.column_stack(predict_with_interval(model, part))
    return out


def _contributions(model: Any, X: pd.DataFrame, progress: bool) -> pd.DataFrame:
    from klinik.models.explain import contributions

    parts = [contributions(model, X.iloc[s : s + CHUNK_ROWS]) for s in _in_chunks(len(X), progress, "reasons")]
    return pd.concat(parts) if parts else contributions(model, X)


@dataclass(frozen=True)
class ScoringInput:
    """What scoring needs from the dataset alone, before any model: who is scored, their features, their status.

    Built by :func:`prepare_scoring`, so the batch job can build it while the models are being loaded.
    """

    as_of_year: int
    coops: pd.DataFrame  # registered_coops: the cooperatives-table columns, sorted by coop_id
    ids: pd.Index
    features: pd.DataFrame  # one row per coop of ``ids`` (same order), every feature the code builds
    facts: pd.DataFrame  # health_facts

    @property
    def sick(self) -> np.ndarray:
        return (self.facts["status"] == STATUS_SAKIT).to_numpy()


def prepare_scoring(ds: Dataset, as_of_year: int, settings: Settings) -> ScoringInput:
    """The cooperatives existing at ``as_of_year``, their features for that year and their health facts.

    Raises ValueError when no cooperative exists at ``as_of_year``.
    """
    from klinik.features.build import build_features

    coops = registered_coops(ds, as_of_year)
    if coops.empty:
        raise ValueError(f"no cooperative is registered and not dissolved in {as_of_year} (cooperatives table)")
    ids = pd.Index(coops["coop_id"].astype(str), name="coop_id")

    feats = build_features(ds, settings, years=[as_of_year])
    feats = feats.loc[feats["year"] == as_of_year].drop_duplicates("coop_id", keep="last")
    feats = feats.set_index(feats["coop_id"].astype(str)).reindex(ids)
    return ScoringInput(
        as_of_year=as_of_year, coops=coops, ids=ids, features=feats, facts=health_facts(ds, ids, as_of_year, settings)
    )


def _routing_contributions(
    ds: Dataset, prep: ScoringInput, models: LoadedModels, contribs: pd.DataFrame, settings: Settings
) -> pd.DataFrame:
    """The contributions the clinic is chosen from: ``contribs`` for everyone, and for the cooperatives sick now
    those plus the ones of the last year before their sick spell began (features built for those cooperatives
    and years only)."""
    from klinik.features.build import build_features
    from klinik.features.panel import dataset_years
    from klinik.models.explain import spell_contributions

    years_sick = np.nan_to_num(prep.features["years_sick"].to_numpy(dtype=float))
    # a spell that began in the data's first year has no year before it in the data (as in training's routing)
    spell = prep.sick & (years_sick > 0) & (prep.as_of_year - years_sick >= dataset_years(ds)[0])
    if not spell.any():
        return contribs
    before = (prep.as_of_year - years_sick[spell]).astype(np.int64)
    sick_ids = prep.ids[spell]
    history = build_features(ds.only(sick_ids), settings, years=np.unique(before).tolist())
    history["coop_id"] = history["coop_id"].astype(str)
    columns = list(models.risk.feature_names_in_)
    X = prep.features.loc[spell, columns].assign(
        coop_id=sick_ids.to_numpy(), year=prep.as_of_year, years_sick=years_sick[spell]
    )
    values = contribs.to_numpy(copy=True)
    values[spell] = spell_contributions(
        models.risk, X, history, columns, "years_sick", now=contribs.loc[spell]
    ).to_numpy()
    return pd.DataFrame(values, index=contribs.index, columns=contribs.columns)


def score_dataset(
    ds: Dataset,
    as_of_year: int,
    models: LoadedModels,
    settings: Settings,
    *,
    capacity: int | Literal["auto"] | None = "auto",
    progress: bool = False,
    keep_contributions: bool = False,
    prepared: ScoringInput | None = None,
    cutoff: OutreachCutoff | None = None,
) -> ScoreResult:
    """Score every cooperative existing at ``as_of_year`` (see the module's notes for every choice).

    ``capacity``: the most JANGKAU actions: "auto" is the clinic's share of the cooperatives scored
    (models.policy.outreach_capacity), an int a fixed number, None no limit (the threshold alone).
    ``cutoff``: instead of a capacity, where the outreach list of the population ended (models.policy).
    ``progress``: tqdm bars on stderr. ``prepared``: what :func:`prepare_scoring` already built for ``ds`` and
    ``as_of_year`` (the batch job builds it while the models load). Raises ValueError
    when no cooperative exists at ``as_of_year``, and IncompatibleModel when a model wants features the code no
    longer builds.
    """
    from klinik.features.catalog import feature_groups
    from klinik.models.explain import main_cause
    from klinik.models.policy import decide, outreach_capacity, outreach_rank, uncertain, uncertain_text
    from klinik.models.reasons import reasons_text

    prep = prepared if prepared is not None else prepare_scoring(ds, as_of_year, settings)
    if prep.as_of_year != as_of_year:
        raise ValueError(f"the prepared input is for {prep.as_of_year}, not {as_of_year}")
    coops, ids, feats, facts, sick = prep.coops, prep.ids, prep.features, prep.facts, prep.sick

    for kind, model in (("risk", models.risk), ("recovery", models.recovery)):
        missing = [c for c in model.feature_names_in_ if c not in feats.columns]
        if missing:
            raise IncompatibleModel(
                f"the {kind} model ({models.model_version}) wants features this code does not build: "
                f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}; retrain with `klinik train`"
            )
    X_risk = feats[list(models.risk.feature_names_in_)]
    X_recovery = feats[list(models.recovery.feature_names_in_)]
    sick_band = np.full((len(ids), 3), np.nan)  # p_sick_next, its 80% interval's lower and upper ends
    recover_band = np.full((len(ids), 3), np.nan)
    sick_band[~sick] = _predict(models.risk, X_risk.loc[~sick], progress, "risk")
    if sick.any():
        recover_band[sick] = _predict(models.recovery, X_recovery.loc[sick], progress, "recovery")
    p_sick_next, p_recover = sick_band[:, 0], recover_band[:, 0]

    contribs = _contributions(models.risk, X_risk, progress)
    contribs.index = ids
    routing = _routing_contributions(ds, prep, models, contribs, settings)
    clinic = pd.Series(main_cause(routing, feature_groups()), index=ids).astype(str)
    reasons = _reasons(models, contribs, X_recovery, feats, sick, clinic, p_sick_next, p_recover, settings)
    basis = clinic_basis(routing, feature_groups())

    if cutoff is not None:
        cap = None
    else:
        cap = outreach_capacity(len(ids), settings) if capacity == "auto" else capacity
    rat_missed = feats["rat_missed_years"].to_numpy(dtype=float)
    years_sick = feats["years_sick"].to_numpy(dtype=float)
    action = decide(
        facts["status"],
        p_sick_next,
        p_recover,
        clinic,
        rat_missed,
        years_sick,
        settings,
        capacity=cap,
        tie_break=ids,
        cutoff=cutoff,
        p_recover_hi=recover_band[:, 2],
    )
    straddles = uncertain(
        facts["status"], recover_band[:, 1], recover_band[:, 2], clinic, rat_missed, years_sick, settings
    )
    certainty = {
        lang: [uncertain_text(k, lo, hi, settings, lang) for k, lo, hi in zip(straddles, *recover_band[:, 1:].T)]
        for lang in ("id", "en")
    }
    rank = outreach_rank(facts["status"], p_sick_next, p_recover, action, tie_break=ids)

    scores = pd.DataFrame(
        {
            "coop_id": ids.to_numpy(),
            "as_of_year": np.full(len(ids), as_of_year, dtype=np.int64),
            "status": facts["status"].to_numpy(),
            "p_sick_next": p_sick_next,
            "p_sick_next_lo": sick_band[:, 1],
            "p_sick_next_hi": sick_band[:, 2],
            "p_recover": p_recover,
            "p_recover_lo": recover_band[:, 1],
            "p_recover_hi": recover_band[:, 2],
            "clinic": clinic.to_numpy(),
            "reasons": reasons_text(reasons, ids, lang="id").to_numpy(),
            "action": action,
            "rank": rank,
            "model_version": models.model_version,
        }
    )
    for col in ("coop_id", "status", "clinic", "reasons", "action", "model_version"):
        scores[col] = scores[col].astype("str")
    order = np.argsort(rank, kind="stable")
    scores = scores.iloc[order].reset_index(drop=True)[list(SCORE_COLUMNS)]

    evidence = (
        pd.DataFrame(
            {
                "coop_id": ids.to_numpy(),
                "name": coops["name"].to_numpy(),
                "district": coops["district"].to_numpy(),
                "coop_type": coops["coop_type"].to_numpy(),
                **{
                    c: facts[c].to_numpy()
                    for c in ("health_year", "health_category", "health_score", "score_trend", "score_change")
                },
                "years_sick": years_sick,
                "rat_missed_years": rat_missed,
                "reasons_en": reasons_text(reasons, ids, lang="en").to_numpy(),
                "clinic_basis": basis[0],
                "clinic_basis_en": basis[1],
                "certainty": certainty["id"],
                "certainty_en": certainty["en"],
            }
        )
        .iloc[order]
        .reset_index(drop=True)[list(EVIDENCE_COLUMNS)]
    )

    return ScoreResult(
        scores=scores,
        reasons=reasons,
        evidence=evidence,
        capacity=cap,
        as_of_year=as_of_year,
        model_version=models.model_version,
        contributions=contribs if keep_contributions else None,
        source=ds.source,
    )


def _slope(model: Any) -> float:
    """The calibration's slope on the raw log-odds (Platt's ``a``): how a contribution moves the probability."""
    calibration = getattr(model[-1], "calibration_", None)
    return float(calibration[0]) if calibration is not None else 1.0


def _reasons(
    models: LoadedModels,
    contribs: pd.DataFrame,
    X_recovery: pd.DataFrame,
    feats: pd.DataFrame,
    sick: np.ndarray,
    clinic: pd.Series,
    p_sick_next: np.ndarray,
    p_recover: np.ndarray,
    settings: Settings,
) -> pd.DataFrame:
    """Every cooperative's risk reasons (the clinic's area first), and for the sick what holds their recovery back
    and what helps it, from the recovery model (models/reasons.py)."""
    from klinik.models.explain import contributions
    from klinik.models.reasons import top_reasons

    n = settings.reasons_top_n
    parts = [
        top_reasons(
            contribs,
            feats,
            n=n,
            kind="risk",
            clinic=clinic.to_numpy(),
            probability=p_sick_next,
            slope=_slope(models.risk),
        )
    ]
    if sick.any():
        recovery = contributions(models.recovery, X_recovery.loc[sick])
        recovery.index = contribs.index[sick]
        for kind in ("recovery_hinders", "recovery_helps"):
            parts.append(
                top_reasons(
                    recovery,
                    feats.loc[sick],
                    n=n,
                    kind=kind,
                    probability=p_recover[sick],
                    slope=_slope(models.recovery),
                )
            )
    return pd.concat(parts, ignore_index=True)


def clinic_basis(routing: pd.DataFrame, groups: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Per cooperative, each clinic area's part of the push toward sickness the clinic was chosen from, in words
    (Indonesian, English): "Keuangan 60% · SDM 40%", the largest first. An area whose factors lower the risk on
    balance has no part (and is not named)."""
    from klinik.models.explain import group_contributions
    from klinik.wording import label, say

    summed = group_contributions(routing, groups)[list(CLINICS)].clip(lower=0.0).to_numpy()
    total = summed.sum(axis=1)
    shares = np.divide(summed, total[:, None], out=np.zeros(summed.shape), where=total[:, None] > 0)
    percents = np.rint(100 * shares).astype(np.int64)
    # the same parts make the same words: say each distinct row once (a national run has few distinct rows)
    distinct, where = np.unique(percents, axis=0, return_inverse=True)
    out = []
    for lang in ("id", "en"):
        words = []
        for row in distinct:
            named = [(p, j) for j, p in sorted(enumerate(row), key=lambda jp: -jp[1]) if p > 0]
            words.append(" · ".join(f"{label('clinic', CLINICS[j], lang)} {p}%" for p, j in named))
        said = np.asarray([w or say("reason.no_area", lang) for w in words], dtype=object)
        out.append(said[where.reshape(-1)])
    return out[0], out[1]

"""A family of simulated worlds: the mechanisms a world follows, as one typed value, and the named variants.

Real offices' data will differ from any one simulator, so models are judged on several plausible readings of
the domain, not tuned on one. ``WorldSpec`` names each reading's switches; ``VARIANTS`` names the worlds the
benchmark judges on (bench/bench_family.py). Every variant keeps the simulator's one design rule: each
probability a label is drawn from is a function of what the contract tables show, so ``truth`` stays exact.
docs/simulator.md ("A family of worlds") says what each switch does and why it is plausible.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import get_args

from klinik.data.simulator_risk import PARAMS, CauseRule, Effects, RecoveryState, RiskParams

__all__ = ["WorldSpec", "VARIANTS", "BASELINE", "variant"]


@dataclass(frozen=True)
class WorldSpec:
    """Which mechanisms a simulated world follows, and how strong its effects are.

    - ``effects``: how weaknesses add up to the risk of falling sick: ``thresholds`` (knees, steps and two
      interactions), ``additive`` (one smooth term per quantity) or ``interactions`` (weakness that shows only in
      combinations) -- ``simulator_risk.risk_components``;
    - ``cause``: the cause of a new sickness follows the ``dominant`` weakness or a ``mix`` of them in proportion
      to their size -- ``simulator_risk.cause_probabilities``;
    - ``recovery``: recovery reads the ``current`` state (it changes with treatment and later years) or the state
      at ``onset``, the last year not assessed sick -- ``simulator_risk.recovery_hazard``;
    - ``base_shift``: added to the log-odds of falling sick (the base rate);
    - ``effect_scale``: multiplies the weight of every weakness on the risk of falling sick (the effect size);
    - ``filing_shift``: added to the log-odds of filing a statement (the missing-statement rate);
    - ``treatment``: multiplies the clinic's effect on recovery (right and wrong clinic);
    - ``risk``: every other coefficient (``simulator_risk.RiskParams``).
    """

    effects: Effects = "thresholds"
    cause: CauseRule = "dominant"
    recovery: RecoveryState = "current"
    base_shift: float = 0.0
    effect_scale: float = 1.0
    filing_shift: float = 0.0
    treatment: float = 1.0
    risk: RiskParams = PARAMS

    def __post_init__(self) -> None:
        for name, kind in (("effects", Effects), ("cause", CauseRule), ("recovery", RecoveryState)):
            if getattr(self, name) not in get_args(kind):
                raise ValueError(f"WorldSpec.{name} must be one of {get_args(kind)}, got {getattr(self, name)!r}")
        if self.effect_scale < 0 or self.treatment < 0:
            raise ValueError("WorldSpec.effect_scale and WorldSpec.treatment must be >= 0")

    @property
    def params(self) -> RiskParams:
        """The coefficients the probabilities use: ``risk`` with the base rate, effect size and treatment applied."""
        p = self.risk
        return replace(
            p,
            base=p.base + self.base_shift,
            weakness_weight=p.weakness_weight * self.effect_scale,
            recover_clinic_fit=p.recover_clinic_fit * self.treatment,
            recover_clinic_other=p.recover_clinic_other * self.treatment,
        )


BASELINE = WorldSpec()

# The base shifts keep the share of sick cooperatives near Buleleng's 10% where a variant changes the size of the
# weaknesses (measured with bench/bench_family.py --describe; docs/simulator.md lists the rates).
VARIANTS: dict[str, WorldSpec] = {
    # the world the models were first built on
    "baseline": BASELINE,
    # every weakness its own smooth term: a logistic or additive model can be exact
    "additive": WorldSpec(effects="additive", base_shift=-0.1),
    # weakness that matters only in combination (no manager and bad loans, staff leaving and the RAT late...)
    "interactions": WorldSpec(effects="interactions", base_shift=-0.45),
    # a sickness comes from each weakness in proportion to its size, not mostly from the largest
    "cause-mix": WorldSpec(cause="mix"),
    # recovery is settled by the state the sickness began in; the clinic does not change it
    "recovery-onset": WorldSpec(recovery="onset", treatment=0.0),
    # fewer sicknesses and weaker signals: the small-data world
    "rare-weak": WorldSpec(base_shift=-0.4, effect_scale=0.8),
    # one statement in five missing, and weaknesses that weigh more
    "unfiled-strong": WorldSpec(filing_shift=-1.6, effect_scale=1.3, base_shift=-0.9),
}


def variant(name: str) -> WorldSpec:
    """The named variant's WorldSpec; an unknown name is refused with the list of names."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown world variant {name!r}; choose one of {', '.join(VARIANTS)}") from None

"""The officer's decisions on the staff page: what a form offers, what it records, and what the page says back.

The fixed lists of decisions per action and the record itself belong to serving.decisions and serving.records;
this module turns a posted form into a ``NewDecision`` on the advice of the latest batch output (the Scores row as
the run wrote it, with the run's manifest hash) and phrases the outcome for the officer in the page's language.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from klinik.serving.web import fmt
from klinik.serving.web.text import t

if TYPE_CHECKING:
    from klinik.serving.web.store import Output


def choices(action: str, lang: str) -> list[dict]:
    """The decisions an officer may take on ``action``: code, label in the page's language, whether a note is due."""
    from klinik.serving.decisions import CHOICES

    return [
        {"code": c.code, "label": c.label if lang == "id" else c.label_en, "needs_note": c.needs_note}
        for c in CHOICES.get(action, ())
    ]


def advice_of(out: Output, coop_id: str):
    """The advice a decision on ``coop_id`` answers: its row of the latest output, and that run's manifest hash."""
    from klinik.serving.records import Advice

    s, _ = out.row(coop_id)

    def number(v):
        return None if v is None or v != v else float(v)

    return Advice(
        coop_id=coop_id,
        as_of_year=out.as_of_year,
        action=str(s["action"]),
        p_sick_next=number(s["p_sick_next"]),
        p_recover=number(s["p_recover"]),
        clinic=str(s["clinic"]) if s.get("clinic") else None,
        model_version=str(s["model_version"]),
        manifest_sha256=out.manifest_sha256,
    )


def record(records, out: Output, coop_id: str, decision: str, note: str, officer: str, lang: str) -> tuple[bool, str]:
    """Record one decision from the page; (done, what to tell the officer)."""
    from klinik.serving.decisions import NOTE_MAX_CHARS, DecisionInvalid, choice
    from klinik.serving.records import NewDecision, RecordsError

    advice = advice_of(out, coop_id)
    try:
        entry, created = records.record_decision(NewDecision(advice, decision, note, officer), source="web")
    except DecisionInvalid as err:
        if err.field == "note" and len(note or "") > NOTE_MAX_CHARS:
            return False, t("decision_note_long", lang, n=fmt.number(NOTE_MAX_CHARS, lang))
        if err.field == "note":
            picked = choice(advice.action, decision)
            return False, t("decision_needs_note", lang, decision=picked.label if lang == "id" else picked.label_en)
        return False, t("decision_pick", lang)
    except RecordsError:
        return False, t("decision_not_saved", lang)
    key = "decision_saved" if created else "decision_same"
    return True, t(key, lang, coop_id=coop_id, decision=entry.label)


def shown(entry, lang: str) -> dict:
    """One recorded decision as the page shows it."""
    from klinik.serving.decisions import CHOICES

    label = entry.label
    if lang != "id":
        label = next((c.label_en for c in CHOICES.get(entry.action, ()) if c.code == entry.decision), entry.decision)
    return {
        "label": label,
        "note": entry.note or "",
        "officer": entry.officer,
        "when": fmt.date(entry.recorded_at, lang),
        "version": entry.version,
        "source": entry.source,
        "action": entry.action,
    }

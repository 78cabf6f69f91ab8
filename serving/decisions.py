"""What an officer may decide on each kind of advice: the fixed lists, declared once, and the check of one entry.

The batch job advises (models/policy.py); a person decides. For each recommended action the officer picks one
decision from a short fixed list; some decisions need a note (the reason), and every decision on closure review
does (UU 25/1992 Pasal 46-47: the record is the clinic's defence). The lists are used by the JSON API, the
workbook import, the workbook's drop-downs and the staff page; nothing else declares them.

A decision is stored by its code (``DIJANGKAU``) and shown by its Indonesian label (``dijangkau``); both are
accepted when typed, in any case and with any spacing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from klinik.data.contract import ACTIONS_HEALTHY, ACTIONS_SICK

NOTE_MAX_CHARS = 2000


@dataclass(frozen=True)
class Choice:
    """One decision an officer can take: stored ``code``, Indonesian ``label`` (drop-downs, the page), English
    ``label_en``, and whether a note (the reason) is required with it."""

    code: str
    label: str
    label_en: str
    needs_note: bool = False


_REACHED = Choice("DIJANGKAU", "dijangkau", "reached")
_SCHEDULED = Choice("DIJADWALKAN", "dijadwalkan", "scheduled")
_NOT_NEEDED = Choice("TIDAK_PERLU", "tidak perlu", "not needed", needs_note=True)
_TREATED = Choice("DIBINA", "dibina", "in treatment")

CHOICES: dict[str, tuple[Choice, ...]] = {
    # healthy, at risk, within the clinic's capacity: was the cooperative reached?
    "JANGKAU": (_REACHED, _SCHEDULED, _NOT_NEEDED),
    # healthy: watched as usual, unless the officer knows more than the model
    "PANTAU": (
        Choice("DIPANTAU", "dipantau", "watched"),
        Choice("DIJANGKAU", "dijangkau", "reached", needs_note=True),  # off the list: say why
        Choice("DIJADWALKAN", "dijadwalkan", "scheduled", needs_note=True),
    ),
    # sick, likely to recover: treatment by the clinic of the main cause
    "BINA": (
        _TREATED,
        _SCHEDULED,
        Choice("DIRUJUK", "dirujuk ke klinik lain", "referred to another clinic", needs_note=True),
        _NOT_NEEDED,
    ),
    # sick, less likely to recover: watched closely, or treated after all
    "PANTAU_KETAT": (
        Choice("DIPANTAU_KETAT", "dipantau ketat", "watched closely"),
        Choice("DIBINA", "dibina", "in treatment", needs_note=True),
        _NOT_NEEDED,
    ),
    # closure review: grave and contestable, so every decision carries its reason
    "PERTIMBANGKAN_PEMBUBARAN": (
        Choice("LANJUT_PEMBINAAN", "lanjut pembinaan", "continue treatment", needs_note=True),
        Choice(
            "USULKAN_PEMBUBARAN",
            "usulkan pembubaran ke rapat anggota",
            "propose dissolution to the members' meeting",
            needs_note=True,
        ),
        Choice("TUNDA", "tunda", "postpone", needs_note=True),
    ),
}
assert set(CHOICES) == {*ACTIONS_HEALTHY, *ACTIONS_SICK}, "one list per action of the policy"


class DecisionInvalid(ValueError):
    """One entry breaks the fixed list: ``field`` names what is wrong (``decision`` or ``note``)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def _key(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.strip()).lower()


def labels(action: str) -> list[str]:
    """The Indonesian labels an officer picks from for ``action`` (the workbook's drop-down)."""
    return [c.label for c in CHOICES[action]]


def choice(action: str, typed: str) -> Choice:
    """The decision ``typed`` (a code or a label, any case and spacing) on advice ``action``, or DecisionInvalid."""
    if action not in CHOICES:
        raise DecisionInvalid("action", f"unknown action {action!r}; one of {', '.join(CHOICES)}")
    wanted = _key(typed or "")
    for c in CHOICES[action]:
        if wanted in (_key(c.code), _key(c.label)):
            return c
    allowed = " / ".join(labels(action))
    shown = typed if len(typed or "") <= 60 else typed[:57] + "..."
    raise DecisionInvalid("decision", f"{shown!r} is not a decision on {action}; choose one of: {allowed}")


def check(action: str, typed: str, note: str | None) -> tuple[Choice, str | None]:
    """The decision and its note, checked: (Choice, the note stripped or None). DecisionInvalid otherwise."""
    picked = choice(action, typed)
    note = (note or "").strip() or None
    if note is not None and "\x00" in note:  # PostgreSQL cannot store it; nobody types it
        raise DecisionInvalid("note", "the note holds a NUL character (\\x00): leave it out")
    if note is not None and len(note) > NOTE_MAX_CHARS:
        raise DecisionInvalid("note", f"the note is {len(note)} characters long; at most {NOTE_MAX_CHARS}")
    if picked.needs_note and note is None:
        raise DecisionInvalid("note", f"'{picked.label}' on {action} needs a note giving the reason")
    return picked, note


def label_of(action: str, code: str) -> str:
    """The Indonesian label of a stored decision code (the code itself when the list no longer holds it)."""
    for c in CHOICES.get(action, ()):
        if c.code == code:
            return c.label
    return code


# ---------------------------------------------------------------- the workbook's decision columns
WORKBOOK_PROPERTY = (
    "klinik-decisions-through"  # the workbook's custom property: the newest entry id it was written with
)


@dataclass(frozen=True)
class InForce:
    """The decisions in force when a workbook is written: coop_id -> (action, label, note), and the id of the
    record's newest entry then. The id goes into the workbook, so that reading it back tells a decision typed
    since (to record) from one the record has moved on from since (to leave)."""

    entries: dict[str, tuple[str, str, str | None]]
    through_id: int

    def cells(self, action: str, coop_id: str) -> list:
        """The two decision cells of one row: the decision in force when it answers this action, else empty."""
        entry = self.entries.get(coop_id)
        if entry is None or entry[0] != action:
            return [None, None]
        return [entry[1], entry[2]]

    def mark(self, wb) -> None:
        from openpyxl.packaging.custom import IntProperty

        wb.custom_doc_props.append(IntProperty(name=WORKBOOK_PROPERTY, value=self.through_id))


def written_through(wb) -> int | None:
    """The id a workbook was written with (InForce.mark), or None for a workbook without one."""
    for prop in wb.custom_doc_props:
        if prop.name == WORKBOOK_PROPERTY:
            try:
                return int(prop.value)
            except (TypeError, ValueError):
                return None
    return None


def dropdown(action: str, cells: str):
    """The Excel drop-down of the decisions allowed on ``action`` for the range ``cells`` (e.g. "K2:K40")."""
    from openpyxl.worksheet.datavalidation import DataValidation

    allowed = labels(action)
    assert not any("," in label or '"' in label for label in allowed), 'a list entry of Excel cannot hold , or "'
    dv = DataValidation(
        type="list",
        formula1='"' + ",".join(allowed) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Keputusan tidak dikenal",
        error="Pilih salah satu keputusan dari daftar: " + " / ".join(allowed),
        showInputMessage=True,
        promptTitle="Keputusan petugas",
        prompt="Pilih dari daftar. " + _note_hint(action),
    )
    dv.add(cells)
    return dv


def _note_hint(action: str) -> str:
    needing = [c.label for c in CHOICES[action] if c.needs_note]
    if not needing:
        return "Catatan boleh diisi."
    if len(needing) == len(CHOICES[action]):
        return "Setiap keputusan wajib diberi catatan (alasan)."
    return "Wajib catatan (alasan) untuk: " + ", ".join(needing) + "."

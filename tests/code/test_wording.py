"""The words catalogue: both languages for every entry, every entry used, numbers the Indonesian way, the review page
current."""

from __future__ import annotations

import datetime as dt
import re
import string
from pathlib import Path

import pytest

from klinik.wording import WORDS, chance, date_words, number, percent, points, say

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("data", "features", "models", "training", "serving", "klinik") for p in (ROOT / d).rglob("*.py")]
# keys made in code from a code or a state: f"status.{code}", f"label.{key}.{state}", ...
DYNAMIC = (
    "status.",
    "action.",
    "clinic.",
    "category.",
    "label.",
    "why.",
    "fact.deadline_",
    "fact.assets_",
    "fact.members_",
    "reason.none_",
    "chart.p_",
    "fact.clinic_",
    "sheet.",
    "col.",
    "advice.uncertain_",
)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(WORDS))
def test_both_languages_say_the_same_things(key):
    indonesian, english = WORDS[key]
    assert indonesian.strip() and english.strip()
    assert fields(indonesian) == fields(english), key
    assert "  " not in indonesian and (key.endswith(".join") or indonesian == indonesian.strip())


def test_a_reason_never_holds_the_separator_that_joins_reasons():
    """Reasons are joined by "; " in one cell (scores.csv, the workbook): a reason's own words never hold it."""
    joiner = WORDS["reason.join"]
    for key, pair in WORDS.items():
        if key.startswith(("fact.", "label.", "why.", "reason.none", "reason.no_area", "reason.points_")):
            assert all(sep not in text for sep, text in zip(joiner, pair)), key


def test_every_entry_is_used_and_every_used_key_exists():
    code = "\n".join(p.read_text(encoding="utf-8") for p in SOURCES if p.name != "wording.py")
    own = (ROOT / "klinik" / "wording.py").read_text(encoding="utf-8")
    code += own[own.index("\ndef say(") :]  # its functions, not the catalogue itself
    unused = [k for k in WORDS if f'"{k}"' not in code and f"'{k}'" not in code and not k.startswith(DYNAMIC)]
    assert not unused, f"entries of klinik/wording.py nothing says: {unused}"
    said = set(re.findall(r"""say\(\s*["']([a-z_]+\.[A-Za-z_.]+|disclaimer)["']""", code))
    assert said <= set(WORDS), said - set(WORDS)


def test_numbers_the_indonesian_way():
    assert number(1234567.891, 2) == "1.234.567,89" and number(1234567.891, 2, "en") == "1,234,567.89"
    assert percent(12.5, digits=1) == "12,5%" and percent(12.5, "en", 1) == "12.5%" and percent(45.4) == "45%"
    assert percent(9.84) == "9,8%" and percent(9.96) == "10%"
    assert percent(3.0) == "3%" and percent(-0.01) == "0%" and percent(1500) == "1.500%"
    assert chance(0.306) == "31%" and chance(0.0304, digits=1) == "3,0%" and chance(float("nan")) == ""
    assert points(6.2) == "+6 poin" and points(-2.6) == "−3 poin" and points(0.2) == "kurang dari 1 poin"
    assert date_words(dt.date(2025, 3, 14)) == "14 Maret 2025"
    assert say("report.h_outreach", n=10) == "10 koperasi teratas untuk dijangkau"
    assert say("report.h_backtest") == "Ketepatan prediksi tahun lalu"


def test_the_review_page_is_current():
    from klinik.wording_doc import COMMAND, render

    page = (ROOT / "docs" / "wording.md").read_text(encoding="utf-8")
    assert page == render(), f"docs/wording.md is out of date: run `{COMMAND}`"

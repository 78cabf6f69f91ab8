"""One message catalogue (data/messages.py): every word the data layer says, in English and Indonesian, used once."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from klinik.data.contract import TABLE, TABLES, indonesian_names
from klinik.data.messages import CATALOGUE, Col, Msg, Tab, fields, joined
from klinik.data.problems import DatasetInvalid, Problem

REPO = Path(__file__).resolve().parents[2]
CODE = [p for folder in ("data", "serving", "klinik") for p in (REPO / folder).glob("*.py") if p.name != "messages.py"]


def _source() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in CODE)


def test_every_message_has_both_languages():
    for key, (english, indonesian) in CATALOGUE.items():
        for text in (*(english if isinstance(english, tuple) else (english,)), indonesian):
            assert isinstance(text, str) and text.strip(), key


def test_every_message_is_used_and_every_message_used_is_in_the_catalogue():
    source = _source()
    unused = [key for key in CATALOGUE if f'"{key}"' not in source]
    assert unused == []
    used = set(re.findall(r'\bMsg\(\s*"(\w+)"', source))
    assert used - set(CATALOGUE) == set()


def test_the_indonesian_words_take_the_arguments_the_english_ones_get():
    """A field only one language uses is given too: for these keys each language picks what it says."""
    say_differently = {"no_rows_to_train", "no_sheet", "at_column"}
    for key in CATALOGUE:
        english, indonesian = fields(key)
        if key not in say_differently:
            assert indonesian <= english | {"n"}, key


def test_a_message_is_its_english_text_and_says_itself_in_indonesian():
    rule = TABLE["financials"].rules[3].words()
    assert rule == "must be >= loans_substandard + loans_doubtful + loans_loss"
    names = indonesian_names("financials")
    assert (
        rule.say("id", names) == "tidak boleh kurang dari Pinjaman kurang lancar + Pinjaman diragukan + Pinjaman macet"
    )
    assert rule.say("id") == "tidak boleh kurang dari loans_substandard + loans_doubtful + loans_loss"  # no names
    assert Msg("listed_in", column=Col("coop_id"), table=Tab("cooperatives")).say("id", names) == (
        "harus ID koperasi yang tercantum di lembar Koperasi"
    )
    assert Msg("problems_word", n=1) == "problem" and Msg("problems_word", n=2) == "problems"
    assert str(joined(["a", "b"], " + ")) == "a + b"


def test_a_problem_keeps_its_words_across_processes():
    problem = Problem("financials", "x.xlsx", 5, "cash", Msg("not_money"), "Rp 5,1 jt", sheet="Keuangan")
    again = pickle.loads(pickle.dumps(problem))
    assert again == problem and again.say("id") == problem.say("id")
    assert again.say("id") == (
        "x.xlsx, lembar 'Keuangan', baris 5, kolom 'Kas dan bank' (cash): harus berupa jumlah rupiah, misalnya "
        "Rp 570.584.777, 570.584.777,50 atau 570584777.5 (tertulis: Rp 5,1 jt)"
    )
    assert str(again) == f"x.xlsx [Keuangan] row 5, column cash: {Msg('not_money')} (got Rp 5,1 jt)"


def test_plain_text_problems_still_say_themselves():
    """A problem written by hand (or by code outside the data layer) keeps its words in either language."""
    problem = Problem("health", "POST /score", 0, "score", "a rule in plain words", "7")
    place = "POST /score, lembar 'Kesehatan', baris 0, kolom 'Skor kesehatan' (score)"
    assert problem.say("id") == f"{place}: a rule in plain words (tertulis: 7)"


@pytest.mark.parametrize("language", ["en", "id"])
def test_every_rule_of_the_contract_says_itself(language):
    for table in TABLES:
        names = indonesian_names(table.name)
        for column in table.columns:
            for rule in column.rules:
                assert rule.words(2024).say(language, names) and rule.words().say(language, names)
        for rule in table.rules:
            assert rule.words().say(language, names)


def test_the_report_keeps_its_structure_in_indonesian():
    problems = [
        Problem("financials", "k.xlsx", 4, "cash", Msg("at_least", low=0), "-1", sheet="Keuangan"),
        Problem("financials", "k.xlsx", 5, "cash", Msg("at_least", low=0), "-2", sheet="Keuangan"),
        Problem("staffing", "k.xlsx", None, "members", Msg("column_missing", found=joined(["a"])), sheet="SDM"),
    ]
    err = DatasetInvalid(problems, "kantor")
    english, indonesian = err.report(max_per_rule=1), err.report(max_per_rule=1, language="id")
    assert len(english.splitlines()) == len(indonesian.splitlines())
    assert indonesian.splitlines()[0] == "dataset kantor tidak valid: 3 masalah di 2 tabel."
    assert "Keuangan: 2 masalah" in indonesian and "... dan 1 lagi: tidak boleh kurang dari 0" in indonesian
    assert "pakai --quarantine BERKAS" in indonesian
    assert "k.xlsx, lembar 'SDM', kolom 'Jumlah anggota' (members): kolom wajib tidak ada" in indonesian


def test_a_rule_across_columns_shows_its_cells_in_either_language(contract_tables):
    from klinik.data.validation import validate_tables

    contract_tables["financials"].loc[1, "cash"] = 6000.0  # above current_assets (5000)
    contract_tables["financials"].loc[2, "current_assets"] = None
    with pytest.raises(DatasetInvalid) as err:
        validate_tables(contract_tables)
    rule = next(p for p in err.value.problems if p.rule == "must be >= cash")
    assert rule.value == "current_assets=5000, cash=6000"
    assert rule.say("id").endswith(
        "tidak boleh kurang dari Kas dan bank (tertulis: Aktiva lancar=5000, Kas dan bank=6000)"
    )
    again = pickle.loads(pickle.dumps(rule))
    assert again == rule and again.say("id") == rule.say("id")

"""The contract is declared once (data/contract.py); the schemas, request types, column lists and the documentation
derive from it, and docs/data-contract.md is the page the declaration writes today."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from klinik.data import contract_doc
from klinik.data.contract import (
    COLUMNS,
    DTYPES,
    SCORE_COLUMNS,
    SCORES,
    TABLE,
    TABLES,
    AtLeast,
    Compare,
    Table,
    current_year,
    money,
)
from klinik.data.rules import schema_of, table_schema
from klinik.data.validation import DatasetInvalid, validate_tables
from klinik.serving import schemas

REPO = Path(__file__).resolve().parents[2]


def test_the_committed_contract_page_is_the_one_the_declaration_writes():
    committed = (REPO / "docs" / "data-contract.md").read_text(encoding="utf-8")
    assert committed == contract_doc.render(), f"docs/data-contract.md is stale: run `{contract_doc.COMMAND}`"


def test_the_page_command_writes_the_file(tmp_path, capsys):
    out = tmp_path / "docs" / "contract.md"
    assert contract_doc.main(["--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == contract_doc.render()
    assert not list(out.parent.glob(".*"))  # no temporary file left behind


def _with_grants(spec: Table) -> Table:
    """financials with one more column: what adding a column to the contract is (the one declaration)."""
    grant = money("grants_received", "Hibah", "hibah (grants received)")
    return dataclasses.replace(
        spec,
        columns=(*spec.columns, grant),
        rules=(*spec.rules, Compare("grants_received", "<=", ("gross_participation", "other_revenue"))),
    )


def test_a_column_added_to_the_declaration_reaches_schema_request_type_and_page():
    spec = _with_grants(TABLE["financials"])
    cy = current_year()
    schema = schema_of(spec, spec.column_names, True, cy)
    column = schema.columns["grants_received"]
    assert str(column.dtype) == "float64" and not column.nullable
    assert [c.error for c in column.checks] == ["must be >= 0"]
    assert "must be <= gross_participation + other_revenue" in [c.error for c in schema.checks]

    model = schemas.row_model("FinancialsWithGrants", spec)
    field = model.model_fields["grants_received"]
    assert field.annotation is float and field.is_required() and "hibah" in field.description
    assert model.model_fields["coop_id"].is_required() is False  # nested under its cooperative

    page = "\n".join(contract_doc.table_section(spec))
    (line,) = [x for x in page.splitlines() if x.startswith("| `grants_received`")]
    assert "money (Rupiah)" in line and "hibah" in line
    assert "must be >= 0" in line and "must be <= gross_participation + other_revenue" in line


@pytest.mark.parametrize("table", [t.name for t in TABLES])
def test_every_declared_column_is_in_the_schema_dtypes_and_page(table):
    spec = TABLE[table]
    assert COLUMNS[table] == spec.column_names
    assert list(table_schema(table, list(COLUMNS[table])).columns) == list(COLUMNS[table])
    assert DTYPES[table] == {c.name: c.dtype for c in spec.columns}
    page = contract_doc.render()
    assert all(f"| `{c}` |" in page for c in COLUMNS[table])


def test_the_request_types_are_the_declared_tables():
    assert schemas.NESTED_TABLES == ("financials", "staffing", "meetings", "health", "clinic_cases")
    models = {"cooperatives": schemas.CooperativeIn, **schemas._ROW_MODELS}
    for table, model in models.items():
        assert tuple(model.model_fields) == COLUMNS[table]
        for column in TABLE[table].columns:
            left_out = column.optional or (column.name == "coop_id" and table != "cooperatives")  # the parent's
            assert model.model_fields[column.name].is_required() == (not left_out)
    assert set(schemas.CoopRecords.model_fields) == {"cooperative", *schemas.NESTED_TABLES}


def test_the_score_row_is_the_declared_scores_table_with_structured_reasons():
    fields = schemas.ScoreRow.model_fields
    assert tuple(fields)[: len(SCORE_COLUMNS)] == SCORE_COLUMNS == SCORES.column_names
    assert fields["reasons"].annotation == list[schemas.Reason] and fields["reasons_text"].annotation is str
    assert fields["p_sick_next"].is_required() is False and fields["status"].is_required()
    with pytest.raises(ValueError, match="status"):
        schemas.ScoreRow.model_validate(
            {
                "coop_id": "K1",
                "as_of_year": 2024,
                "status": "NOT_A_STATUS",
                "clinic": "SDM",
                "reasons": [],
                "reasons_text": "",
                "action": "PANTAU",
                "rank": 1,
                "model_version": "risk/1",
            }
        )


def test_the_error_a_user_reads_is_the_rule_the_page_states(contract_tables):
    """The words come from one place: the problem for a broken cell is the rule written in the page's row."""
    tables = dict(contract_tables)
    fin = tables["financials"].copy()
    fin.loc[0, "loans_to_members"] = 9000.0  # above loans_outstanding (8000)
    fin.loc[1, "cash"] = -1.0
    tables["financials"] = fin
    with pytest.raises(DatasetInvalid) as err:
        validate_tables(tables)
    rows = {line.split(" | ")[0].strip("| `"): line for line in contract_doc.render().splitlines() if "| `" in line}
    found = {(p.column, p.rule) for p in err.value.problems}
    assert ("loans_to_members", "must be <= loans_outstanding") in found and ("cash", "must be >= 0") in found
    for column, rule in found:
        assert rule in rows[column]


def test_year_words_name_the_year_in_errors_and_the_current_year_on_the_page():
    rule = TABLE["cooperatives"].column("founded_year").rules[0]
    assert rule.words(2024) == "must be a year from 1900 to 2024"
    assert "to the current year" in rule.words()
    errors = [c.error for c in table_schema("cooperatives", ["founded_year"]).columns["founded_year"].checks]
    assert errors == [f"must be a year from 1900 to {dt.date.today().year}"]


def test_money_may_be_negative_only_where_declared():
    spec = TABLE["financials"]
    signed = {c.name for c in spec.columns if c.kind == "money" and not any(isinstance(r, AtLeast) for r in c.rules)}
    assert signed == {"equity", "net_income"}
    frame = pd.DataFrame({"equity": [-5.0], "net_income": [-1.0]})
    table_schema("financials", ["equity", "net_income"]).validate(frame)


def test_every_table_an_office_fills_in_has_a_sheet_and_every_column_an_indonesian_header():
    from klinik.data.contract import OFFICE_TABLES, TEMPLATE_INSTRUCTIONS_SHEET, table_named

    sheets = [TABLE[t].sheet for t in OFFICE_TABLES]
    assert all(s and len(s) <= 31 and not set(s) & set("[]:*?/\\") for s in sheets)  # what Excel allows
    assert len({s.casefold() for s in [*sheets, TEMPLATE_INSTRUCTIONS_SHEET]}) == len(sheets) + 1
    assert all(table_named(s.upper()) == t and table_named(t) == t for s, t in zip(sheets, OFFICE_TABLES))
    headers: dict[str, str] = {}
    for name in OFFICE_TABLES:
        spec = TABLE[name]
        folded = [" ".join(c.header.split()).casefold() for c in spec.columns]
        assert all(folded) and len(set(folded)) == len(folded), name  # one header each, none twice
        assert not set(folded) & set(COLUMNS[name]), name  # a header is never another column's contract name
        for c in spec.columns:
            assert spec.contract_name(c.header) == c.name and spec.contract_name(c.name) == c.name
            assert headers.setdefault(c.name, c.header) == c.header, c.name  # one header per name everywhere
    assert TABLE["financials"].contract_name("kas  DAN bank") == "cash"
    assert TABLE["financials"].contract_name("Kas") is None

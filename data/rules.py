"""The rules: the pandera schema of each table, built from the contract's declaration, and its verdict as Problems.

A schema checks what the typed values must satisfy: required cells, codes, ranges, rules across the columns of a
row, unique keys and the coop_id foreign key (``klinik.data.contract`` declares each of them once, with its words).
Pandera reports every failing cell at once (``lazy=True``); :func:`check_rules` turns the failure cases into
:class:`~klinik.data.problems.Problem` lines a clinic officer can act on. The frames checked are indexed by the row
number as the user sees it, so a failure case's index *is* the row to report.
"""

from __future__ import annotations

import functools
import operator
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute
from pandera.errors import SchemaErrors

from klinik.data.cells import cell_texts, is_text
from klinik.data.contract import (
    FIRST_YEAR,
    HEALTH_CATEGORIES,
    HEALTH_SCORE_BANDS,
    TABLE,
    AtLeast,
    Between,
    ColumnRule,
    Compare,
    HeldAfterYear,
    InScoreBand,
    InYears,
    ListedIn,
    OneOf,
    RowRule,
    SumOf,
    Table,
    current_year,
)
from klinik.data.messages import Col, Language, Msg, Names, joined
from klinik.data.problems import Problem, TableCheck

# Money comparisons allow half a sen of rounding: values written as decimals do not always add up exactly.
MONEY_TOLERANCE = 0.005
_CHECK_DTYPE = {"int64": "Int64", "bool": "boolean"}  # while checking, missing cells are still allowed to exist

# --------------------------------------------------------------------------------------------------------------
# Rules across the columns of a row: True where the row keeps the rule or cannot be judged (a cell is missing)
# --------------------------------------------------------------------------------------------------------------


def _ok(cond: pd.Series, *cols: pd.Series) -> pd.Series:
    """A rule holds where its condition is true or one of its cells is missing (reported on its own)."""
    missing = np.zeros(len(cond), dtype=bool)
    for c in cols:
        missing |= c.isna().to_numpy()
    return pd.Series(cond.fillna(True).to_numpy(dtype=bool) | missing, index=cond.index)


def _compare(rule: Compare, df: pd.DataFrame) -> pd.Series:
    value, others = df[rule.column], [df[c] for c in rule.others]
    total = functools.reduce(operator.add, others)
    if pd.api.types.is_float_dtype(value.dtype):  # money: within half a sen; whole numbers and dates exactly
        total = total - MONEY_TOLERANCE if rule.op == ">=" else total + MONEY_TOLERANCE
    return _ok(value >= total if rule.op == ">=" else value <= total, value, *others)


def _sum_of(rule: SumOf, df: pd.DataFrame) -> pd.Series:
    value = df[rule.column]
    gap = (value - sum(df[c] for c in rule.parts)).abs()
    return _ok(gap <= rule.within * value.abs() + MONEY_TOLERANCE, value, *(df[c] for c in rule.parts))


def _held_after_year(rule: HeldAfterYear, df: pd.DataFrame) -> pd.Series:
    after = df[rule.column].dt.year.astype("Int64") > df[rule.year]
    return _ok(after | (df[rule.kind] != rule.code), df[rule.column], df[rule.year], df[rule.kind])


def _in_score_band(rule: InScoreBand, df: pd.DataFrame) -> pd.Series:
    score = df[rule.score].to_numpy()
    with np.errstate(invalid="ignore"):
        expected = np.select(
            [score >= low for _, low in HEALTH_SCORE_BANDS[:-1]],
            [name for name, _ in HEALTH_SCORE_BANDS[:-1]],
            HEALTH_SCORE_BANDS[-1][0],
        )
    category = df[rule.column]
    # a bad code or an impossible score is reported on its own; the band cannot be judged then
    unknown = ~category.isin(HEALTH_CATEGORIES) | ~df[rule.score].between(0, 100)
    return _ok((category == expected) | unknown, category, df[rule.score])


def holds(rule: RowRule, df: pd.DataFrame) -> pd.Series:
    """Where each row of ``df`` keeps ``rule`` (or cannot be judged)."""
    match rule:
        case Compare():
            return _compare(rule, df)
        case SumOf():
            return _sum_of(rule, df)
        case HeldAfterYear():
            return _held_after_year(rule, df)
        case InScoreBand():
            return _in_score_band(rule, df)
    raise TypeError(f"no check for the rule {rule!r}")


# --------------------------------------------------------------------------------------------------------------
# Rules of one column, and the schema of a table
# --------------------------------------------------------------------------------------------------------------


def _listed(s: pd.Series, keys: pd.Index) -> pd.Series:
    """s.isin(keys) for a large key set: pandas converts the keys to Python objects on every call; arrow does not."""
    if len(keys) < 1000 or not is_text(s) or not isinstance(s.array, pd.arrays.ArrowStringArray):
        return s.isin(keys)
    cells = pyarrow.array(s)
    found = pyarrow.compute.is_in(cells, value_set=pyarrow.array(keys.to_numpy(dtype=object), type=cells.type))
    return pd.Series(np.asarray(pyarrow.compute.fill_null(found, False), dtype=bool), index=s.index)


# The cooperatives' keys of the tables being checked, read by the foreign-key check: the schemas are built once
# and cached (building one costs more than checking a small request), so the keys cannot be built into them.
# A context variable keeps concurrent validations (threads) apart.
_COOP_IDS: ContextVar[pd.Index] = ContextVar("coop_ids")


def _listed_coop(s: pd.Series) -> pd.Series:
    return _listed(s, _COOP_IDS.get())


def _check(rule: ColumnRule, cy: int) -> pa.Check:
    """One rule of a column as pandera's check, with the rule's words as its error."""
    error = rule.words(cy)
    match rule:
        case AtLeast(low=low, strict=True):
            return pa.Check.gt(low, error=error)
        case AtLeast(low=low):
            return pa.Check.ge(low, error=error)
        case Between(low=low, high=high):
            return pa.Check.in_range(low, high, error=error)
        case OneOf():
            return pa.Check.isin(rule.codes, error=error)
        case InYears(date=True):
            return pa.Check.in_range(pd.Timestamp(FIRST_YEAR, 1, 1), pd.Timestamp(cy, 12, 31), error=error)
        case InYears():
            return pa.Check.in_range(FIRST_YEAR, cy, error=error)
        case ListedIn(table="cooperatives", column="coop_id"):
            return pa.Check(_listed_coop, error=error)
    raise TypeError(f"no check for the rule {rule!r}")


def table_schema(table: str, present: list[str], coop_ids: pd.Index | None = None) -> pa.DataFrameSchema:
    """The pandera schema of one table, for the columns that are present (missing ones are reported apart).

    ``coop_ids`` (the cooperatives' keys) adds the foreign-key check on coop_id; validate with
    :func:`check_rules`, which hands the keys to that check.
    """
    return _schema(table, tuple(present), coop_ids is not None, current_year())


@functools.lru_cache(maxsize=256)
def _schema(table: str, present: tuple[str, ...], foreign_key: bool, cy: int) -> pa.DataFrameSchema:
    return schema_of(TABLE[table], present, foreign_key, cy)


def schema_of(spec: Table, present: tuple[str, ...], foreign_key: bool, cy: int) -> pa.DataFrameSchema:
    """The pandera schema of a table's declaration (``cy``: the current year; see :func:`table_schema`)."""
    columns = {
        c.name: pa.Column(
            _CHECK_DTYPE.get(c.dtype, c.dtype),
            [_check(r, cy) for r in c.rules if foreign_key or not isinstance(r, ListedIn)],
            nullable=c.optional,
        )
        for c in spec.columns
        if c.name in present
    }
    # A row-wide check reports every column of every failing row; one case is enough to know the rule failed,
    # and _translate() finds the rows by evaluating the rule again (cheap, vectorised).
    rules = [
        pa.Check(
            functools.partial(holds, r), name=type(r).__name__, error=r.words(), ignore_na=False, n_failure_cases=1
        )
        for r in spec.rules
        if all(c in present for c in r.shows)
    ]
    unique = list(spec.key) if spec.key and all(c in present for c in spec.key) else None
    return pa.DataFrameSchema(columns, checks=rules, unique=unique, report_duplicates="all", name=spec.name)


def _validate(schema: pa.DataFrameSchema, typed: pd.DataFrame, coop_ids: pd.Index | None) -> None:
    """schema.validate(typed, lazy=True), the foreign-key check (if any) against ``coop_ids``."""
    token = _COOP_IDS.set(coop_ids if coop_ids is not None else pd.Index([]))
    try:
        schema.validate(typed, lazy=True)
    finally:
        _COOP_IDS.reset(token)


# --------------------------------------------------------------------------------------------------------------
# From pandera's failure cases to Problems
# --------------------------------------------------------------------------------------------------------------


def _uniqueness_problems(tc: TableCheck, rows: np.ndarray) -> list[Problem]:
    key = list(TABLE[tc.name].key)
    dup = tc.typed.loc[rows, key].dropna()  # rows with an empty key are reported as empty, not duplicated
    if dup.empty:
        return []
    row = pd.Series(dup.index.to_numpy(), index=dup.index)
    first = row.groupby([dup[c] for c in key]).transform("min")
    last = row.groupby([dup[c] for c in key]).transform("max")
    other = first.where(row != first, last)
    label = ", ".join(key)
    values = dup[key[0]].astype("str").str.cat([dup[c].astype("str") for c in key[1:]], sep=", ")
    return [
        tc.problem(r, label, Msg("unique", label=joined(map(Col, key)), other=int(o)), v)
        for r, o, v in zip(row.to_numpy(), other.to_numpy(), values.to_numpy())
    ]


_EMPTY = Msg("empty")


@dataclass(frozen=True, slots=True)
class _Cells:
    """The cells of one row that a broken rule involves, said as ``column=value, ...`` in either language."""

    columns: tuple[Col, ...]
    texts: tuple[str | None, ...]

    def say(self, language: Language = "en", names: Names | None = None) -> str:
        cells = (Msg("cell_is", column=c, value=_EMPTY if t is None else t) for c, t in zip(self.columns, self.texts))
        return ", ".join(cell.say(language, names) for cell in cells)

    def __str__(self) -> str:
        return self.say()


def _rule_problems(tc: TableCheck, rule: RowRule, rows: np.ndarray) -> list[Problem]:
    """One problem per row breaking ``rule``; its value shows every cell the rule involves (``cash=5, ...``),
    written in English at once for every row (vectorised), in Indonesian only for the rows a report shows."""
    shown = tc.typed.loc[rows, list(rule.shows)]
    texts = [cell_texts(shown[c]) for c in rule.shows]
    english = None
    for c, column in zip(rule.shows, texts):
        part = c + "=" + pd.Series(column, dtype=object).fillna(str(_EMPTY))
        english = part if english is None else english + ", " + part
    columns, words = tuple(map(Col, rule.shows)), rule.words()
    return [
        tc.problem(r, rule.column, words, Msg.written(text, "cells", cells=_Cells(columns, cells)))
        for r, text, cells in zip(rows, english.to_numpy(), zip(*texts))
    ]


def _translate(tc: TableCheck, fc: pd.DataFrame) -> None:
    """pandera failure cases -> Problems on tc (one per cell, or per row for row-wide rules)."""
    spec = TABLE[tc.name]
    rules = {r.words(): r for r in spec.rules}
    cy = current_year()
    words = {w: w for c in spec.columns for w in (r.words(cy) for r in c.rules)}  # the error text -> its message
    errored = fc["index"].isna()
    for col, check, case in fc.loc[errored, ["column", "check", "failure_case"]].itertuples(index=False):
        if isinstance(check, str) and check.startswith("dtype("):
            tc.table_problems.append(tc.problem(None, col, Msg("wrong_type", expected=check, got=str(case))))
        else:
            tc.table_problems.append(tc.problem(None, col, Msg("not_checked", check=str(check), case=str(case))))
    fc = fc[~errored]
    frame_level = fc["schema_context"] == "DataFrameSchema"
    for check, group in fc[frame_level].groupby("check", sort=False):
        rows = pd.unique(group["index"].to_numpy())
        if check in ("multiple_fields_uniqueness", "field_uniqueness"):
            tc.problems += _uniqueness_problems(tc, rows)
        elif check in rules:
            kept = holds(rules[check], tc.typed).to_numpy(dtype=bool)
            tc.problems += _rule_problems(tc, rules[check], tc.typed.index[~kept].to_numpy())
        else:
            tc.problems += [tc.problem(r, None, str(check)) for r in rows]
    cells = fc[~frame_level]
    empty = Msg("not_empty")
    for (col, check), group in cells.groupby(["column", "check"], sort=False):
        rows = group["index"].to_numpy()
        if check == "not_nullable":
            if col in tc.parse_failures:  # already reported as unreadable
                unreadable = tc.typed.index[tc.parse_failures[col]]
                rows = rows[~np.isin(rows, unreadable)]
            tc.problems += [tc.problem(r, col, empty) for r in rows]
        else:
            values = cell_texts(tc.typed.loc[rows, col])  # the failure cases are these cells
            rule = words.get(str(check), str(check))
            tc.problems += [tc.problem(r, col, rule, v) for r, v in zip(rows, values)]


def check_rules(tc: TableCheck, coop_ids: pd.Index | None) -> None:
    """Check a parsed table against its schema (``coop_ids``: the foreign key's), its problems added to ``tc``."""
    if len(tc.typed) == 0:  # no cell to break a rule; the parser gave every column its contract type
        return
    schema = table_schema(tc.name, list(tc.typed.columns), coop_ids)
    try:
        _validate(schema, tc.typed, coop_ids)
    except SchemaErrors as err:
        _translate(tc, err.failure_cases)

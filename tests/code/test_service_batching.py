"""Which requests the service scores together, and how a request becomes tables (no server, no model)."""

from __future__ import annotations

import datetime as dt

import pytest

from klinik.serving.batching import Job, groups, prepare
from klinik.serving.schemas import CoopRecords
from klinik.serving.service_io import RequestInvalid, field_path, request_problems, request_tables
from klinik.settings import get_settings


def coop(coop_id: str, year: int = 2023, *, financials: bool = True, case: str | None = None) -> CoopRecords:
    money = {
        c: 100.0
        for c in (
            "cash",
            "current_assets",
            "total_assets",
            "loans_outstanding",
            "loans_to_members",
            "loans_substandard",
            "loans_doubtful",
            "loans_loss",
            "loan_loss_reserve",
            "current_liabilities",
            "total_liabilities",
            "voluntary_savings",
            "external_borrowings",
            "principal_savings",
            "mandatory_savings",
            "gross_participation",
            "other_revenue",
            "operating_expenses",
            "personnel_expenses",
            "net_income",
        )
    }
    return CoopRecords.model_validate(
        {
            "cooperative": {
                "coop_id": coop_id,
                "name": f"KSP {coop_id}",
                "coop_type": "KSP",
                "district": "Banjar",
                "founded_year": 2000,
            },
            "financials": [{"year": year, **money, "equity": 0.0}] if financials else [],
            "staffing": [
                {
                    "year": year,
                    "members": 10,
                    "board_members": 3,
                    "supervisors": 2,
                    "employees": 1,
                    "has_manager": False,
                    "certified_staff": 0,
                    "trained_staff": 0,
                    "staff_departures": 0,
                }
            ],
            "clinic_cases": [{"case_id": case, "clinic": "SDM", "opened_on": "2022-01-01"}] if case else [],
        }
    )


def job(*coops: CoopRecords, as_of_year: int | None = None) -> Job:
    j = Job(list(coops), as_of_year, "population")
    prepare(j, get_settings())
    return j


def test_requests_with_the_same_year_and_other_ids_go_together():
    a, b, c = job(coop("A")), job(coop("B")), job(coop("C"))
    assert groups([a, b, c], max_coops=10) == [[a, b, c]]


def test_a_shared_cooperative_or_case_id_keeps_requests_apart():
    a, a_again, b = job(coop("A")), job(coop("A")), job(coop("B"))
    assert groups([a, a_again, b], max_coops=10) == [[a, b], [a_again]]
    x, y = job(coop("X", case="KK-1")), job(coop("Y", case="KK-1"))
    assert groups([x, y], max_coops=10) == [[x], [y]]


def test_other_years_and_the_size_limit_make_new_groups():
    a, b = job(coop("A"), as_of_year=2023), job(coop("B", 2022), as_of_year=2022)
    assert groups([a, b], max_coops=10) == [[a], [b]]
    c, d, e = job(coop("C"), coop("D")), job(coop("E")), job(coop("F"))
    assert groups([c, d, e], max_coops=3) == [[c, d], [e]]


def test_a_request_missing_a_required_table_is_checked_alone():
    lonely, other = job(coop("A", financials=False)), job(coop("B"))
    assert groups([lonely, other], max_coops=10) == [[lonely], [other]]


def test_as_of_year_defaults_to_the_latest_year_and_may_not_be_in_the_future():
    assert job(coop("A", 2021), coop("B", 2023)).as_of_year == 2023
    with pytest.raises(RequestInvalid) as err:
        job(coop("A"), as_of_year=dt.date.today().year + 1)
    assert err.value.problems[0][0] == ("as_of_year",)


def test_nested_rows_get_their_cooperatives_id_and_a_path_back_to_the_request():
    req = request_tables([coop("A"), coop("B")])
    assert list(req.tables["financials"]["coop_id"]) == ["A", "B"]
    assert field_path(req.loc("financials", 1, "cash")) == "cooperatives[1].financials[0].cash"
    assert field_path(req.loc("cooperatives", 0, "coop_type")) == "cooperatives[0].cooperative.coop_type"
    assert req.tables["financials"]["year"].tolist() == [2023, 2023]  # values as sent: data.validation parses them
    assert req.tables["clinic_cases"].empty and list(req.tables["clinic_cases"].columns)[0] == "case_id"


def test_a_nested_row_naming_another_cooperative_is_refused():
    bad = coop("A").model_copy(deep=True)
    bad.staffing[0].coop_id = "B"
    with pytest.raises(RequestInvalid) as err:
        request_tables([bad])
    assert err.value.problems[0][0] == ("cooperatives", 0, "staffing", 0, "coop_id")


def test_a_request_for_a_cooperative_already_in_the_pass_waits_for_the_next_one():
    from concurrent.futures import Future

    from klinik.serving.batching import Batcher

    batcher = Batcher(models=None, settings=get_settings())
    jobs = [
        Job([coop("A")], None, "auto"),
        Job([coop("A")], None, "auto"),
        Job([coop("B")], None, "auto"),
        Job([coop("C", case="K1")], None, "auto"),
        Job([coop("D", case="K1")], None, "auto"),
    ]
    batcher._queue = [(j, Future()) for j in jobs]
    first = [j for j, _ in batcher._take()]
    assert first == [jobs[0], jobs[2], jobs[3]]
    assert [j for j, _ in batcher._queue] == [jobs[1], jobs[4]]  # first in line for the next pass
    assert [j for j, _ in batcher._take()] == [jobs[1], jobs[4]]


def test_an_as_of_year_outside_the_records_is_refused_naming_as_of_year():
    for year, kind in ((2010, "before_records"), (2024, "after_records")):
        with pytest.raises(RequestInvalid) as err:
            job(coop("A", 2022), coop("B", 2023), as_of_year=year)
        assert [p[0] for p in err.value.problems] == [("as_of_year",)]
        assert (
            err.value.problems[0][2] == kind
            and "2022" in err.value.problems[0][1]
            or "2023" in err.value.problems[0][1]
        )
    assert job(coop("A", 2022), coop("B", 2023), as_of_year=2022).as_of_year == 2022  # within the records


def test_a_kecamatan_the_office_does_not_have_is_refused_with_the_nearest_name():
    typo = coop("A").model_copy(deep=True)
    typo.cooperative.district = "Seririd"
    problems = request_problems([coop("B"), typo], 2023, get_settings())
    assert [(p[0], p[2]) for p in problems] == [(("cooperatives", 1, "cooperative", "district"), "unknown_district")]
    assert "'Seririd'" in problems[0][1] and "did you mean 'Seririt'" in problems[0][1]
    assert request_problems([typo], 2023, get_settings(districts=["Seririd"])) == []  # the list is the office's
    assert request_problems([typo], 2023, get_settings(districts=[])) == []  # empty: not checked

"""The settings that shape features and labels: declared once, compared with what a model recorded."""

from __future__ import annotations

import pytest

from klinik.settings import FEATURE_LABEL_SETTINGS, Settings, get_settings


def test_the_declared_settings_exist_and_are_read_from_the_environment(monkeypatch):
    fields = Settings.model_fields
    assert FEATURE_LABEL_SETTINGS and all(name in fields for name in FEATURE_LABEL_SETTINGS)
    monkeypatch.setenv("KLINIK_RAT_OFFICE_DEADLINE_MONTH", "4")
    assert get_settings().feature_label_values["rat_office_deadline_month"] == 4
    assert Settings(rat_office_deadline_month=4).feature_label_values == get_settings().feature_label_values


def test_a_model_with_the_same_values_is_accepted_as_tags_or_numbers():
    s = Settings()
    assert s.mismatch(s.feature_label_values, "the risk model") is None
    assert s.mismatch({k: str(v) for k, v in s.feature_label_values.items()}, "the risk model") is None
    assert s.changed({**s.feature_label_values, "something_else": "x"}) == {}


@pytest.mark.parametrize("name", FEATURE_LABEL_SETTINGS)
def test_another_value_is_refused_in_one_line_naming_the_setting_and_both_values(name):
    s = Settings()
    recorded = {**s.feature_label_values, name: s.feature_label_values[name] + 1}
    assert s.changed(recorded) == {name: (recorded[name], s.feature_label_values[name])}
    why = s.mismatch(recorded, "the risk model koperasi-risk v3")
    assert "\n" not in why and why.startswith("the risk model koperasi-risk v3 ")
    assert f"{name}={recorded[name]}" in why and f"{name}={s.feature_label_values[name]}" in why
    assert f"KLINIK_{name.upper()}={recorded[name]}" in why


def test_a_model_that_records_nothing_asks_to_be_retrained():
    s = Settings()
    partly = {k: v for k, v in s.feature_label_values.items() if k != "status_max_age_years"}
    for recorded in ({}, partly, {**partly, "rat_office_deadline_month": 4}):
        why = s.mismatch(recorded, "the recovery champion koperasi-recovery v1")
        assert "does not record the settings" in why and why.endswith("retrain with `klinik train`")

"""Numbers and dates as an Indonesian office writes them (``12,5%``, ``Rp 1.250.000``, ``14 Maret 2025``), or
in English when the page is switched to it. Babel holds the locale rules; this module only picks the patterns.
A missing value is shown as a dash, never as ``nan``."""

from __future__ import annotations

import datetime as dt
import math

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

LOCALES = {"id": "id_ID", "en": "en_US"}
DASH = "–"


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def percent(value, lang: str = "id", digits: int = 1) -> str:
    """0.125 -> "12,5%" (id) / "12.5%" (en); ``digits`` decimals at most, trailing zeros dropped."""
    if _missing(value):
        return DASH
    pattern = "#,##0" + ("." + "#" * digits if digits else "") + "%"
    return format_percent(float(value), pattern, locale=LOCALES[lang])


def number(value, lang: str = "id", digits: int = 0) -> str:
    """1234.5 -> "1.234,5" (id); whole numbers without decimals."""
    if _missing(value):
        return DASH
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(float(value), pattern, locale=LOCALES[lang])


def rupiah(value, lang: str = "id") -> str:
    """1250000 -> "Rp 1.250.000" (whole rupiah; a negative amount keeps its sign)."""
    if _missing(value):
        return DASH
    return format_currency(float(value), "IDR", "¤ #,##0", locale=LOCALES[lang], currency_digits=False)


def date(value, lang: str = "id") -> str:
    """A date, a datetime or an ISO text -> "14 Maret 2025" (id) / "14 March 2025" (en)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DASH
    if value != value:  # NaN and NaT are not equal to themselves
        return DASH
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        value = value.date()
    return format_date(value, "d MMMM y", locale=LOCALES[lang])


def in_ten(p, lang: str = "id") -> str:
    """A probability as a count a person pictures: 0.31 -> "sekitar 3 dari 10"; below 5% -> "kurang dari 1 dari 20"."""
    if _missing(p):
        return DASH
    p = float(p)
    if p < 0.05:
        return "kurang dari 1 dari 20" if lang == "id" else "fewer than 1 in 20"
    tens = max(1, round(p * 10))
    return f"sekitar {tens} dari 10" if lang == "id" else f"about {tens} in 10"

"""Dates and times as customers write them on WhatsApp, relative to the business's today.

Used by the rule-based model to turn "tomorrow at 3pm" or "next Monday 10:00" into the ISO
arguments a tool expects, and by the tools themselves so that a model which passes
"tomorrow" instead of a date still books the right day. Numeric dates are day-first
(04/12 is 4 December), as written in Uganda. Bare hours without am/pm are read in salon
hours: "at 3" is 15:00, "at 10" is 10:00.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

__all__ = ["parse_date", "parse_time"]

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"


def _future(day: int, month: int, today: date, year: int | None = None) -> date | None:
    try:
        candidate = date(year or today.year, month, day)
    except ValueError:
        return None
    if year is None and candidate < today:
        try:
            candidate = date(today.year + 1, month, day)
        except ValueError:
            return None
    return candidate


def parse_date(text: str, today: date) -> date | None:
    """The date ``text`` refers to, or None when it names none."""
    lowered = text.lower()
    iso = re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", lowered)
    if iso:
        return _future(int(iso[3]), int(iso[2]), today, int(iso[1]))
    if re.search(r"\bday after tomorrow\b", lowered):
        return today + timedelta(days=2)
    if re.search(r"\b(tomorrow|tmrw|tmr|tomoro)\b", lowered):
        return today + timedelta(days=1)
    if re.search(r"\b(today|tonight|this (morning|afternoon|evening))\b", lowered):
        return today
    ahead = re.search(r"\bin (\d{1,2}) days?\b", lowered)
    if ahead:
        return today + timedelta(days=int(ahead[1]))
    for index, name in enumerate(_WEEKDAYS):
        match = re.search(rf"\b(next |this |on )?({name}|{name[:3]})\b", lowered)
        if match:
            delta = (index - today.weekday()) % 7
            if match[1] == "next " and delta == 0:
                delta = 7
            return today + timedelta(days=delta)
    day_month = re.search(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?: of)? {_MONTH}\b", lowered)
    if day_month:
        return _future(int(day_month[1]), _MONTHS.index(day_month[2]) + 1, today)
    month_day = re.search(rf"\b{_MONTH} (\d{{1,2}})(?:st|nd|rd|th)?\b", lowered)
    if month_day:
        return _future(int(month_day[2]), _MONTHS.index(month_day[1]) + 1, today)
    numeric = re.search(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b", lowered)
    if numeric:
        year = int(numeric[3]) if numeric[3] else None
        if year is not None and year < 100:
            year += 2000
        return _future(int(numeric[1]), int(numeric[2]), today, year)
    return None


def parse_time(text: str) -> str | None:
    """The time of day ``text`` names as ``HH:MM``, or None."""
    lowered = text.lower()
    if re.search(r"\bnoon|midday\b", lowered):
        return "12:00"
    match = re.search(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)", lowered)
    if match:
        hour, minute = int(match[1]) % 12, int(match[2] or 0)
        if match[3].startswith("p"):
            hour += 12
        return f"{hour:02d}:{minute:02d}" if hour < 24 and minute < 60 else None
    match = re.search(r"\b(\d{1,2})[:.](\d{2})\b", lowered) or re.search(r"\bat (\d{1,2})\b(?![:./])", lowered)
    if match:
        hour = int(match[1])
        minute = int(match[2]) if match.re.groups > 1 and match[2] else 0
        if 1 <= hour <= 7:
            hour += 12
        return f"{hour:02d}:{minute:02d}" if hour < 24 and minute < 60 else None
    return None

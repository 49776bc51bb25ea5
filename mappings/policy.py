"""The school's policy: every threshold the rules use, with the defaults of docs/POLICY.md.

The kārtība leaves some decisions open ("at the start of the lesson", "takes part"); they
are explicit here, configurable, and validated. Overrides come from the settings file or a
scenario's ``policy`` section as plain strings, numbers and lists; ``Policy.with_overrides``
coerces and validates them and names the offending key in its error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final


class PolicyError(ValueError):
    """A policy override has an unknown key or an invalid value.

    The message starts with ``policy.<key>:`` so an administrator can find the setting.
    """

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"policy.{key}: {problem}")
        self.key = key
        self.problem = problem


#: The only time zone the rules support: the kārtība's 17:00 is Riga time.
SUPPORTED_TIMEZONES: Final = frozenset({"Europe/Riga"})


@dataclass(frozen=True)
class Policy:
    """Thresholds and tables of the rules (docs/POLICY.md).

    Attributes:
        timezone: time zone of every rule (all).
        effective_from: no lesson before this day is evaluated (p. 47).
        uzdots_deadline_time: UZDOTS due on the previous working day at this time (p. 16).
        join_grace_minutes: window after lesson start for the chat registration (p. 30).
        min_presence_share: share of the lesson a student must be connected (p. 30).
        sync_evaluate_after_minutes: a synchronous lesson is judged this long after its end (p. 30).
        async_evaluate_after_minutes: an asynchronous lesson is judged this long after its due
            time (p. 31, 35).
        async_default_due_time: due time on the lesson day when UZDOTS gives none (p. 35).
        attendance_window_days: lessons that ended within this many days are evaluated (p. 30, 31).
        uzdots_check_days: UZDOTS/topic checks look this many days back (p. 16, 14.2).
        instance_before_minutes: meeting instances starting up to this long before the lesson
            count (p. 30).
        instance_after_minutes: meeting instances up to this long after the lesson end count.
        quota_warn_share: remote share of planned hours that triggers a warning (p. 7).
        quota_max_share: remote share of planned hours allowed (p. 7).
        fuzzy_min_score: minimal rapidfuzz score (0–100) of a fuzzy name match.
        fuzzy_margin: a fuzzy match must beat the runner-up by this many points.
        criteria_words: word stems that show assessment criteria in a UZDOTS text (p. 16).
        non_teaching_days: the school's own days off (p. 16 working days).
    """

    timezone: str = "Europe/Riga"
    effective_from: dt.date = dt.date(2023, 3, 1)
    uzdots_deadline_time: dt.time = dt.time(17, 0)
    join_grace_minutes: int = 10
    min_presence_share: float = 0.5
    sync_evaluate_after_minutes: int = 30
    async_evaluate_after_minutes: int = 60
    async_default_due_time: dt.time = dt.time(23, 59)
    attendance_window_days: int = 7
    uzdots_check_days: int = 7
    instance_before_minutes: int = 30
    instance_after_minutes: int = 120
    quota_warn_share: float = 0.16
    quota_max_share: float = 0.20
    fuzzy_min_score: float = 88.0
    fuzzy_margin: float = 8.0
    criteria_words: tuple[str, ...] = ("kritērij", "vērtēšan")
    non_teaching_days: tuple[dt.date, ...] = ()

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name))
        for name, (low, high, problem) in _RANGES.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise PolicyError(name, problem)
        if self.timezone not in SUPPORTED_TIMEZONES:
            raise PolicyError("timezone", "only Europe/Riga is supported (kārtība times are Riga)")
        if self.quota_warn_share > self.quota_max_share:
            raise PolicyError("quota_warn_share", "must not exceed quota_max_share")
        if any(not word.strip() for word in self.criteria_words):
            raise PolicyError("criteria_words", "words must not be empty")

    def with_overrides(self, data: Mapping[str, Any]) -> Policy:
        """A copy of this policy with ``data`` applied.

        Args:
            data: setting name -> value; strings such as ``"17:00"``, ``"2023-03-01"``,
                ``"0.5"`` and lists (or comma-separated strings) are coerced.

        Returns:
            The new, validated policy.

        Raises:
            PolicyError: an unknown key or an invalid value, named in the message.
        """
        if not isinstance(data, Mapping):
            raise PolicyError("*", "overrides must be a mapping of setting names to values")
        known = {f.name: f for f in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        for key, raw in data.items():
            if key not in known:
                raise PolicyError(str(key), "unknown setting" + _did_you_mean(str(key), known))
            changes[key] = _COERCE[key](key, raw)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-friendly values (the same shapes ``with_overrides`` accepts)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, dt.time):
                out[f.name] = value.strftime("%H:%M")
            elif isinstance(value, dt.date):
                out[f.name] = value.isoformat()
            elif isinstance(value, tuple):
                out[f.name] = [v.isoformat() if isinstance(v, dt.date) else v for v in value]
            else:
                out[f.name] = value
        return out


# --------------------------------------------------------------------------- validation

_DAY_MINUTES: Final = 24 * 60

#: field -> (lowest, highest, message when outside).
_RANGES: Final[dict[str, tuple[float, float, str]]] = {
    "join_grace_minutes": (0, 240, "must be between 0 and 240 minutes"),
    "min_presence_share": (0.0, 1.0, "must be between 0 and 1"),
    "sync_evaluate_after_minutes": (0, 7 * _DAY_MINUTES, "must be between 0 and 10080 minutes"),
    "async_evaluate_after_minutes": (0, 7 * _DAY_MINUTES, "must be between 0 and 10080 minutes"),
    "attendance_window_days": (1, 366, "must be between 1 and 366 days"),
    "uzdots_check_days": (1, 366, "must be between 1 and 366 days"),
    "instance_before_minutes": (0, _DAY_MINUTES, "must be between 0 and 1440 minutes"),
    "instance_after_minutes": (0, _DAY_MINUTES, "must be between 0 and 1440 minutes"),
    "quota_warn_share": (0.0, 1.0, "must be between 0 and 1"),
    "quota_max_share": (0.0, 1.0, "must be between 0 and 1"),
    "fuzzy_min_score": (0.0, 100.0, "must be between 0 and 100"),
    "fuzzy_margin": (0.0, 100.0, "must be between 0 and 100"),
}


def _check_type(name: str, value: Any) -> None:
    expected = _TYPES[name]
    if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise PolicyError(name, f"must be a whole number, got {type(value).__name__}")
    if expected is float and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise PolicyError(name, f"must be a number, got {type(value).__name__}")
    if expected is dt.date and (isinstance(value, dt.datetime) or not isinstance(value, dt.date)):
        raise PolicyError(name, "must be a date (YYYY-MM-DD)")
    if expected is dt.time and not (isinstance(value, dt.time) and value.tzinfo is None):
        raise PolicyError(name, "must be a wall-clock time (HH:MM)")
    if expected is str and not isinstance(value, str):
        raise PolicyError(name, "must be a string")
    if expected == "words" and not (
        isinstance(value, tuple) and all(isinstance(v, str) for v in value)
    ):
        raise PolicyError(name, "must be a list of words")
    if expected == "dates" and not (
        isinstance(value, tuple)
        and all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in value)
    ):
        raise PolicyError(name, "must be a list of dates (YYYY-MM-DD)")


def _did_you_mean(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --------------------------------------------------------------------------- coercion


def _to_int(key: str, raw: Any) -> int:
    if isinstance(raw, bool):
        raise PolicyError(key, "must be a whole number, not true/false")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            pass
    raise PolicyError(key, f"must be a whole number, got {raw!r}")


def _to_float(key: str, raw: Any) -> float:
    if isinstance(raw, bool):
        raise PolicyError(key, "must be a number, not true/false")
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        text = raw.strip().replace(",", ".")
        try:
            if text.endswith("%"):
                return float(text[:-1].strip()) / 100.0
            return float(text)
        except ValueError:
            pass
    raise PolicyError(key, f"must be a number, got {raw!r}")


def _to_time(key: str, raw: Any) -> dt.time:
    if isinstance(raw, dt.time):
        if raw.tzinfo is not None:
            raise PolicyError(key, "must be a wall-clock time without a time zone")
        return raw
    if isinstance(raw, str):
        text = raw.strip().replace(".", ":")
        try:
            value = dt.time.fromisoformat(text if len(text) != 4 else "0" + text)
        except ValueError:
            pass
        else:
            if value.tzinfo is None:
                return value
    raise PolicyError(key, f"must be a time HH:MM, got {raw!r}")


def _to_date(key: str, raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        raise PolicyError(key, "must be a date, not a date and time")
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise PolicyError(key, f"must be a date YYYY-MM-DD, got {raw!r}")


def _to_str(key: str, raw: Any) -> str:
    if isinstance(raw, str):
        return raw.strip()
    raise PolicyError(key, f"must be a string, got {raw!r}")


def _as_items(key: str, raw: Any) -> list[Any]:
    if isinstance(raw, str):
        return [part for part in (p.strip() for p in raw.split(",")) if part]
    if isinstance(raw, list | tuple | set | frozenset):
        return list(raw)
    raise PolicyError(key, f"must be a list, got {raw!r}")


def _to_words(key: str, raw: Any) -> tuple[str, ...]:
    words = []
    for item in _as_items(key, raw):
        if not isinstance(item, str) or not item.strip():
            raise PolicyError(key, f"must be a list of non-empty words, got {item!r}")
        words.append(item.strip())
    return tuple(dict.fromkeys(words))


def _to_dates(key: str, raw: Any) -> tuple[dt.date, ...]:
    return tuple(sorted({_to_date(key, item) for item in _as_items(key, raw)}))


_TYPES: Final[dict[str, Any]] = {
    "timezone": str,
    "effective_from": dt.date,
    "uzdots_deadline_time": dt.time,
    "join_grace_minutes": int,
    "min_presence_share": float,
    "sync_evaluate_after_minutes": int,
    "async_evaluate_after_minutes": int,
    "async_default_due_time": dt.time,
    "attendance_window_days": int,
    "uzdots_check_days": int,
    "instance_before_minutes": int,
    "instance_after_minutes": int,
    "quota_warn_share": float,
    "quota_max_share": float,
    "fuzzy_min_score": float,
    "fuzzy_margin": float,
    "criteria_words": "words",
    "non_teaching_days": "dates",
}

_COERCER_BY_TYPE: Final[dict[Any, Callable[[str, Any], Any]]] = {
    str: _to_str,
    dt.date: _to_date,
    dt.time: _to_time,
    int: _to_int,
    float: _to_float,
    "words": _to_words,
    "dates": _to_dates,
}

_COERCE: Final[dict[str, Callable[[str, Any], Any]]] = {
    name: _COERCER_BY_TYPE[kind] for name, kind in _TYPES.items()
}

DEFAULT_POLICY: Final = Policy()

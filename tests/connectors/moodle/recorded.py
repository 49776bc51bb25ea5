"""Responses recorded from a real Moodle 4.5 (tests/fixtures/moodle) and test helpers."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import requests
from pydantic import SecretStr

from connectors._http import CallStats
from connectors.moodle import MoodleActivitySource, MoodleSettings, build

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "moodle" / "webservice-responses.json"
_RECORDED = json.loads(FIXTURES.read_text(encoding="utf-8"))

BASE = "https://skolo.test"
REST = BASE + "/webservice/rest/server.php"
LOGIN = BASE + "/login/token.php"
TOKEN = "0123456789abcdef0123456789abcdef"


def recorded(name: str) -> Any:
    """A recorded response body (a fresh copy each time)."""
    return copy.deepcopy(_RECORDED[name]["response"])


_CONSTRUCTED = json.loads((FIXTURES.parent / "constructed-responses.json").read_text(
    encoding="utf-8"))


def constructed(name: str) -> Any:
    """A response body built from the measured facts of real-moodle.md (a fresh copy)."""
    return copy.deepcopy(_CONSTRUCTED[name]["response"])


def settings(**values: Any) -> MoodleSettings:
    values.setdefault("token", SecretStr(TOKEN))
    return MoodleSettings(enabled=True, base_url=BASE, **values)


def source(**values: Any) -> MoodleActivitySource:
    return build(settings(**values), stats=CallStats(), sleep=lambda _s: None)


def form(request: requests.PreparedRequest) -> dict[str, str]:
    body = request.body or ""
    if isinstance(body, bytes):
        body = body.decode()
    return dict(parse_qsl(body, keep_blank_values=True))


class FakeMoodle:
    """A ``responses`` callback answering by ``wsfunction``; records every call's form."""

    def __init__(self, handlers: dict[str, Callable[[dict[str, str]], Any]]) -> None:
        self.handlers = handlers
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict, str]:
        params = form(request)
        assert params.pop("wstoken") == TOKEN
        assert params.pop("moodlewsrestformat") == "json"
        function = params.pop("wsfunction")
        self.calls.append((function, params))
        return 200, {}, json.dumps(self.handlers[function](params))

    def count(self, function: str) -> int:
        return sum(1 for f, _ in self.calls if f == function)

    def functions(self) -> list[str]:
        return [f for f, _ in self.calls]

"""Cleaning names and addresses at the connector boundary (issue 15 item 3)."""

from __future__ import annotations

import smtplib

import pytest

from connectors._text import clean_address, clean_name, normalise_address
from connectors.errors import ConfigError, UpstreamError
from connectors.smtp.client import map_error


@pytest.mark.parametrize(("raw", "clean"), [
    ("Ilze Kalniņa\n", "Ilze Kalniņa"),
    ("ET-22\r\nBcc: x@evil.example", "ET-22 Bcc: x@evil.example"),
    ("A\u200bnna\tLiepa\u2028", "Anna Liepa"),
    ("  Jānis   Bērziņš ", "Jānis Bērziņš"),
    (None, None),
])
def test_clean_name(raw, clean):
    assert clean_name(raw) == clean


@pytest.mark.parametrize(("raw", "usable"), [
    (" Ilze.Kalnina@School.LV ", "Ilze.Kalnina@school.lv"),
    ("andris.liepiņš@school.lv", "andris.liepiņš@school.lv"),
    ("info@skola.ēdiens.lv", "info@skola.xn--diens-hza.lv"),
    ("ilze@school.lv,attacker@evil.example", None),
    ("ilze@school.lv attacker@evil.example", None),
    ("Ilze <ilze@school.lv>", None),
    ("ilze@school.lv\r\nBcc: x@evil.example", None),
    ("a@b@school.lv", None),
    ("ilze@localhost", None),
    ("@school.lv", None),
    ("ilze..k@school.lv", None),
])
def test_normalise_address(raw, usable):
    assert normalise_address(raw) == usable


def test_clean_address_keeps_none_and_empty_empty():
    assert clean_address(None) == clean_address("  ") == clean_address("a,b@c.lv") == ""


def test_a_relay_without_smtputf8_fails_the_message_not_the_settings():
    exc = smtplib.SMTPNotSupportedError("One or more source or delivery addresses require "
                                        "internationalized email support, but the server "
                                        "does not advertise the required SMTPUTF8 capability")
    error = map_error(exc)
    assert isinstance(error, UpstreamError) and not isinstance(error, ConfigError)

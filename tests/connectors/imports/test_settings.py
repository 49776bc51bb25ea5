"""Import settings: default Latvian headers, column overrides, validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors._imports import ImportSettings


@pytest.mark.parametrize(("field", "header"), [
    pytest.param("student_name", "Skolēns", id="student_name"),
    pytest.param("student_email", "E-pasts", id="student_email"),
    pytest.param("task_url", "Uzdevuma saite", id="task_url"),
    pytest.param("task_title", "Uzdevums", id="task_title"),
    pytest.param("completed_at", "Izpildīts", id="completed_at"),
    pytest.param("score", "Rezultāts", id="score"),
])
def test_default_headers_are_latvian_and_preferred_first(field, header):
    assert ImportSettings().headers(field)[0] == header


def test_a_column_override_replaces_only_that_field():
    settings = ImportSettings(columns={"student_email": "Email", "score": ["Punkti", "Balles"]})

    assert settings.headers("student_email") == ["Email"]
    assert settings.headers("score") == ["Punkti", "Balles"]
    assert settings.headers("task_url")[0] == "Uzdevuma saite"


@pytest.mark.parametrize(("values", "message"), [
    pytest.param({"columns": {"skolnieks": "X"}}, "unknown field", id="unknown-column-field"),
    pytest.param({"encodings": ["latvian-9"]}, "unknown encoding", id="unknown-encoding"),
    pytest.param({"encodings": []}, "at least one", id="no-encoding"),
    pytest.param({"enabled": True}, "drop_dir is required", id="enabled-without-folder"),
    pytest.param({"max_file_mb": 0}, "greater than 0", id="zero-size-limit"),
    pytest.param({"folder": "/tmp"}, "Extra inputs", id="unknown-setting"),
])
def test_invalid_settings_are_refused(values, message):
    with pytest.raises(ValidationError, match=message):
        ImportSettings(**values)

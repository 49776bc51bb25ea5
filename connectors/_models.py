"""Vendor JSON as pydantic models: the common base, UTC times, and lists read item by item.

Connectors declare only the fields they use; unknown fields are ignored, so a vendor adding
fields breaks nothing. A list is validated one item at a time (:func:`parse_items`): a
malformed item is reported as a :class:`connectors.errors.RecordError` by id and skipped,
the rest of the list is used.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from connectors.errors import RecordError

M = TypeVar("M", bound=BaseModel)


class VendorModel(BaseModel):
    """Base of a vendor JSON shape: unknown fields ignored, immutable, fields settable by
    their Python name as well as by their JSON alias."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


def naive_as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A field validator: a time without an offset is taken as UTC (the vendor's zone)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def parse_items(model: type[M], items: Any, what: str, *, system: str, id_field: str,
                log: logging.Logger) -> list[M]:
    """Validate each item; a malformed one is logged as a :class:`RecordError` and skipped.

    Args:
        model: the item's shape.
        items: the items as decoded from JSON.
        what: the item's kind for the message ("attendance record").
        system: the upstream, named in the message and the error.
        id_field: the item field that identifies it in the log (never a name or e-mail);
            an item without one is named by its position (``#3``).
        log: the connector's logger.
    """
    out: list[M] = []
    for index, item in enumerate(items):
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            ref = item.get(id_field) if isinstance(item, dict) else None
            error = RecordError(f"{system}: malformed {what} skipped", system=system,
                                record=str(ref or f"#{index}"),
                                detail=f"{exc.error_count()} validation error(s)")
            log.warning("%s (record %s: %s)", error.message, error.record, error.detail)
    return out

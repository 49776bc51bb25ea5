"""Paged vendor lists: one loop that follows a cursor from page to page.

Graph follows ``@odata.nextLink`` URLs, Google follows ``nextPageToken`` tokens; both are a
cursor. :class:`CursorPages` owns what they share: the page count, the stop against paging
that never ends (a cursor seen before, or too many pages), an answer that is not JSON, and
an optional hint that replaces a bare 403 ("which permission is missing"). A subclass says
how a page is requested, where its items are and what the next cursor is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar

from connectors._http import HttpClient
from connectors.errors import PermissionDeniedError, ProtocolError


class CursorPages(ABC):
    """Iterate over the items of a paged JSON list, page after page (lazily).

    Args:
        http: the shared client for the upstream.
        max_pages: a safety stop against a server that never stops paging.
        denied_hint: when set, a 403 is raised as :class:`PermissionDeniedError` with this
            message (what to grant) instead of the bare status line.

    Attributes:
        pages: pages read so far.
    """

    upstream: ClassVar[str]
    not_json: ClassVar[str]  # the message when a page is not JSON
    endless: ClassVar[str]  # the message when paging does not end

    def __init__(self, http: HttpClient, *, max_pages: int = 500,
                 denied_hint: str | None = None) -> None:
        self._http = http
        self._max_pages = max_pages
        self._denied_hint = denied_hint
        self.pages = 0

    def __iter__(self) -> Iterator[Any]:
        cursor: str | None = self._first()
        seen: set[str] = set()
        while cursor is not None:
            if cursor in seen or self.pages >= self._max_pages:
                raise ProtocolError(self.endless, upstream=self.upstream)
            seen.add(cursor)
            body = self._read(cursor)
            self.pages += 1
            yield from self._items(body)
            cursor = self._next(body)

    def _read(self, cursor: str) -> Any:
        try:
            return self._get(cursor)
        except ValueError:  # requests' JSONDecodeError
            raise ProtocolError(self.not_json, upstream=self.upstream) from None
        except PermissionDeniedError as exc:
            if self._denied_hint is None:
                raise
            raise PermissionDeniedError(self._denied_hint, upstream=self.upstream,
                                        status=exc.status, detail=exc.detail) from None

    @abstractmethod
    def _first(self) -> str:
        """The cursor of the first page."""

    @abstractmethod
    def _get(self, cursor: str) -> Any:
        """The decoded JSON of the page at ``cursor``."""

    @abstractmethod
    def _items(self, body: Any) -> list[Any]:
        """The items of one page.

        Raises:
            ProtocolError: the page is not a list answer.
        """

    @abstractmethod
    def _next(self, body: Any) -> str | None:
        """The cursor of the next page, or None after the last one.

        Raises:
            ProtocolError: a cursor that must not be followed.
        """

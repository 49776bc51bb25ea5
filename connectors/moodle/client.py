"""Moodle web-service calls over the shared HTTP client.

Every function is a form-encoded POST to ``/webservice/rest/server.php`` with ``wsfunction``
and ``moodlewsrestformat=json`` (the token is added by :class:`~connectors.moodle.auth.TokenAuth`).
Array parameters use PHP's bracket syntax: ``assignmentids[0]=7&assignmentids[1]=9``.
Moodle answers every error with HTTP 200 and ``{"exception", "errorcode", "message"}``;
:func:`raise_for_ws_error` maps those to the connector error hierarchy. Retries, timeouts,
rate limits and call counting are the shared client's (:mod:`connectors._http`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import requests
from pydantic import SecretStr

from connectors._http import Action, HttpClient, scrub
from connectors.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    UpstreamError,
)
from connectors.moodle.auth import REST_PATH, TokenAuth
from connectors.moodle.models import LoginError, WsError

UPSTREAM = "moodle"
LOGIN_PATH = "/login/token.php"

#: ``accessdenied``: core_completion_get_activities_completion_status for a user of a
#: separate-groups course the account shares no group with (recorded from a real 4.5).
_DENIED = {"accessexception", "nopermissions", "requireloginerror", "errorcoursecontextnotvalid",
           "servicenotavailable", "usernotfullysetup", "webservicesdisabled", "cannotviewreport",
           "accessdenied"}
#: ``invalidrecordunknown``: Moodle 4.5's answer for an unknown course-module id (measured).
_NOT_FOUND = {"invalidrecord", "invalidrecordunknown"}


class _WsCode:
    """What Moodle said: the function called and its ``errorcode`` (for gaps and logs)."""

    function: str = ""
    errorcode: str = ""


class WsDeniedError(PermissionDeniedError, _WsCode):
    """The account or service lacks a right the function needs (``nopermissions``...)."""


class WsNotFoundError(NotFoundError, _WsCode):
    """An unknown record: course module, quiz, user (``invalidrecord[unknown]``)."""


class WsFailedError(UpstreamError, _WsCode):
    """Any other web-service error answer (``invalidparameter``, an unknown code...)."""


def _coded(error: _WsCode, function: str, code: str) -> _WsCode:
    error.function = function
    error.errorcode = code
    return error


# --------------------------------------------------------------------------- encoding


def encode_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten parameters into Moodle's form encoding.

    Lists become ``name[0]``, ``name[1]``...; dicts become ``name[key]``; booleans ``1``/``0``;
    ``None`` values are left out. Nesting is allowed (``options[0][name]=...``).
    """
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        _flatten(str(key), value, out)
    return out


def _flatten(key: str, value: Any, out: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for sub, item in value.items():
            _flatten(f"{key}[{sub}]", item, out)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _flatten(f"{key}[{index}]", item, out)
    elif isinstance(value, bool):
        out.append((key, "1" if value else "0"))
    else:
        out.append((key, str(value)))


# --------------------------------------------------------------------------- errors


def _ws_error(payload: Any) -> WsError | None:
    if isinstance(payload, dict) and "exception" in payload:
        return WsError.model_validate(payload)
    return None


#: Moodle error codes of a passing server-side problem (database reads/writes, a busy lock).
_TRANSIENT_CODES = frozenset({"dmlreadexception", "dmlwriteexception", "dmltransactionexception",
                              "locktimeout", "dbsessionlockerror"})


def raise_for_ws_error(function: str, payload: Any) -> None:
    """Raise the connector error matching a Moodle web-service error answer, if it is one.

    Raises:
        AuthError: ``invalidtoken`` (the token is wrong, expired or revoked: a setting to fix).
        PermissionDeniedError: the account lacks a capability or the service lacks the function.
        NotFoundError: ``invalidrecord``/``invalidrecordunknown`` for a record (unknown course
            module, quiz, user...).
        UpstreamError: ``invalidparameter``, an unknown function, any other error.
        The three last are the Moodle subclasses :class:`WsDeniedError`,
        :class:`WsNotFoundError`, :class:`WsFailedError`, carrying ``function`` and
        ``errorcode``.
    """
    error = _ws_error(payload)
    if error is None:
        return
    code = error.errorcode
    where = f"{UPSTREAM}: {function} failed: {code or error.exception}"
    detail = scrub(error.message[:300])
    if code == "invalidtoken":
        raise AuthError(f"{where} (check moodle.token or moodle.username/password)",
                        upstream=UPSTREAM, status=200, detail=detail)
    if code in _DENIED:
        raise _coded(WsDeniedError(
            f"{where} (the web-service account or service lacks this function or capability)",
            upstream=UPSTREAM, status=200, detail=detail), function, code)
    if code in _NOT_FOUND:
        if "external_functions" in error.message:
            raise _coded(WsFailedError(f"{where} (this Moodle has no function {function})",
                                       upstream=UPSTREAM, status=200, detail=detail),
                         function, code)
        raise _coded(WsNotFoundError(where, upstream=UPSTREAM, status=200, detail=detail),
                     function, code)
    raise _coded(WsFailedError(where, upstream=UPSTREAM, status=200, detail=detail),
                 function, code)


def _decode(response: requests.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "?").split(";")[0]
        raise ProtocolError(f"{UPSTREAM}: {what} answered {kind}, not JSON "
                            "(is base_url the Moodle site root?)",
                            upstream=UPSTREAM, status=response.status_code,
                            detail=scrub(response.text[:300])) from None


# --------------------------------------------------------------------------- client


class MoodleClient:
    """The Moodle web-service functions kartiba calls, one method each.

    Args:
        http: the shared HTTP client for this upstream (its base_url is the Moodle site root);
            the client installs ``auth`` and its error classifier on it.
        auth: the token source; when it is renewable, ``invalidtoken`` triggers one re-login.
    """

    def __init__(self, http: HttpClient, auth: TokenAuth) -> None:
        self.http = http
        self.auth = auth
        http.auth = auth
        http.classify = self._classify

    def _classify(self, response: requests.Response) -> Action | None:
        """Moodle errors come with HTTP 200: a database hiccup (``dmlreadexception``...) is
        retried like a 5xx, and ``invalidtoken`` renews the token when it is renewable."""
        if not response.ok or b'"errorcode"' not in response.content[:2000]:
            return None
        try:
            error = _ws_error(response.json())
        except ValueError:
            return None
        if error is None:
            return None
        if error.errorcode in _TRANSIENT_CODES:
            return Action.RETRY
        if error.errorcode == "invalidtoken" and self.auth.renewable:
            return Action.REAUTH
        return None

    def call(self, function: str, **params: Any) -> Any:
        """Call one web-service function; return its decoded JSON answer.

        Raises:
            AuthError, PermissionDeniedError, NotFoundError, UpstreamError: see
            :func:`raise_for_ws_error`; transport errors from the shared client.
        """
        form = [("wsfunction", function), ("moodlewsrestformat", "json")]
        form += encode_params(params)
        response = self.http.request("POST", REST_PATH, data=form, auth=self.auth)
        payload = _decode(response, function)
        raise_for_ws_error(function, payload)
        return payload

    # -- functions

    def site_info(self) -> Any:
        return self.call("core_webservice_get_site_info")

    def assignments(self, course_ids: Sequence[int]) -> Any:
        """``mod_assign_get_assignments`` for these courses, enrolled in or not."""
        return self.call("mod_assign_get_assignments", courseids=list(course_ids),
                         includenotenrolledcourses=True)

    def submissions(self, assignment_ids: Sequence[int], status: str = "",
                    since: int = 0, before: int = 0) -> Any:
        """``mod_assign_get_submissions``: each user's latest attempt per assignment."""
        return self.call("mod_assign_get_submissions", assignmentids=list(assignment_ids),
                         status=status or None, since=since or None, before=before or None)

    def submission_status(self, assignment_id: int, user_id: int) -> Any:
        """``mod_assign_get_submission_status`` of one user: their earlier attempts too."""
        return self.call("mod_assign_get_submission_status", assignid=assignment_id,
                         userid=user_id)

    def quizzes(self, course_ids: Sequence[int]) -> Any:
        return self.call("mod_quiz_get_quizzes_by_courses", courseids=list(course_ids))

    def user_attempts(self, quiz_id: int, user_id: int, status: str = "finished") -> Any:
        return self.call("mod_quiz_get_user_attempts", quizid=quiz_id, userid=user_id,
                         status=status)

    def completion_status(self, course_id: int, user_id: int) -> Any:
        return self.call("core_completion_get_activities_completion_status",
                         courseid=course_id, userid=user_id)

    def enrolled_users(self, course_id: int, fields: Iterable[str] = (
            "id", "fullname", "email", "idnumber", "roles", "groups")) -> Any:
        """``core_enrol_get_enrolled_users`` with only the fields kartiba reads."""
        return self.call("core_enrol_get_enrolled_users", courseid=course_id,
                         options=[{"name": "userfields", "value": ",".join(fields)}])

    def course_module(self, cmid: int) -> Any:
        return self.call("core_course_get_course_module", cmid=cmid)


def login(http: HttpClient, username: str, password: SecretStr, service: str) -> SecretStr:
    """Exchange username and password for a web-service token at ``/login/token.php``.

    Raises:
        ConfigError: wrong credentials (``invalidlogin``) or the service is not enabled.
        ProtocolError: the answer has neither a token nor an error.
    """
    response = http.request(
        "POST", LOGIN_PATH, authenticate=False,
        data={"username": username, "password": password.get_secret_value(), "service": service})
    payload = _decode(response, "login/token.php")
    if isinstance(payload, dict) and isinstance(payload.get("token"), str) and payload["token"]:
        return SecretStr(payload["token"])
    if isinstance(payload, dict) and "error" in payload:
        error = LoginError.model_validate(payload)
        setting = "moodle.password" if error.errorcode == "invalidlogin" else "moodle.service"
        raise ConfigError(f"{UPSTREAM}: login refused: {error.errorcode or 'error'}",
                          setting=setting, detail=scrub(error.error[:300]))
    raise ProtocolError(f"{UPSTREAM}: login/token.php answered without a token",
                        upstream=UPSTREAM, status=response.status_code)

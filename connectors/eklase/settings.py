"""Settings of the e-klase journal connector (gateway or worklist).

The application settings nest this model under ``eklase``; from the environment every field is
``KARTIBA_EKLASE__<FIELD>`` (e.g. ``KARTIBA_EKLASE__ENDPOINT``, ``KARTIBA_EKLASE__PASSWORD``,
``KARTIBA_EKLASE__LESSON_TYPES='{"Klātienē": "in_person"}'``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from mappings.model import LessonMode

DEFAULT_LESSON_TYPES: dict[str, LessonMode] = {
    "Klātienē": LessonMode.IN_PERSON,
    "Attālināti tiešsaistē": LessonMode.REMOTE_SYNC,
    "Attālināti patstāvīgi": LessonMode.REMOTE_ASYNC,
    "Attālināti": LessonMode.REMOTE_SYNC,
}


class EklaseSettings(BaseModel):
    """How kartiba reaches the e-klase journal.

    Attributes:
        mode: ``gateway`` writes marks through the SOAP journal gateway; ``worklist`` e-mails
            them to teachers as XLSX/CSV for entry (reading still uses the gateway).
        endpoint: the gateway address; overrides the placeholder address of the shipped WSDL.
        username: WS-Security UsernameToken user; the author of every mark written.
        password: its password (never logged).
        use_digest: send PasswordDigest instead of PasswordText (a Nonce and Created go
            with both, fresh for every HTTP attempt).
        ws_timestamp: also send a ``wsu:Timestamp`` (Created, Expires = Created + 5 min), for
            a gateway whose WS-Security policy requires one (CONTRACT.md).
        service_account: the author id the gateway shows on marks kartiba wrote; every other
            author is a person, whose marks are never touched.
        lesson_types: e-klase lessonType label -> lesson mode. A lesson with a label not in
            the table is not judged: it is reported as an error (lesson id and label) and the
            run exits non-zero until the label is added here.
        operation_timeout: read timeout of one SOAP operation, seconds (zeep's
            ``operation_timeout``).
        connect_timeout: TCP/TLS connect timeout, seconds.
        read_timeout: default read timeout of the shared HTTP client, seconds.
        ca_bundle: extra CA bundle for a gateway with a private CA (verification stays on).
        max_attempts: attempts per call on transient failures (5xx without a SOAP Fault,
            resets, timeouts, and the transient faults UNAVAILABLE / RATE_LIMITED).
        max_retry_after: the longest ``retryAfter`` of a transient fault waited for within a
            call, seconds; a longer one fails the call (the next run tries again).
        chunk_days: long lesson/notice windows are read in chunks of this many days.
        worklist_dir: where the worklist sink keeps the files it mails.
        worklist_lang: language of worklist files and e-mails.
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["gateway", "worklist"] = "gateway"
    endpoint: str = ""
    username: str = ""
    password: SecretStr = SecretStr("")
    use_digest: bool = False
    ws_timestamp: bool = False
    service_account: str = "kartiba"
    lesson_types: dict[str, LessonMode] = Field(
        default_factory=lambda: dict(DEFAULT_LESSON_TYPES))
    operation_timeout: float = Field(60.0, gt=0)
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(30.0, gt=0)
    #: the whole of one call (all its attempts, waits and the answer's last byte), seconds
    total_timeout: float = Field(300.0, gt=0)
    max_answer_mb: float = Field(50.0, gt=0)  # a larger answer fails that call
    ca_bundle: str | None = None
    max_attempts: int = Field(5, ge=1, le=10)
    max_retry_after: float = Field(60.0, ge=0)
    chunk_days: int = Field(7, ge=1, le=31)
    worklist_dir: str = "/var/lib/kartiba/worklists"
    worklist_lang: Literal["lv", "en"] = "lv"

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_http(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("endpoint must be an http(s) URL")
        return value

    @field_validator("service_account")
    @classmethod
    def _service_account_set(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("service_account must name the gateway account kartiba writes as")
        return value.strip()

"""Settings of the Google Meet connector: section ``[meet]``.

Every field can come from the environment as ``KARTIBA_MEET__<FIELD>`` (for example
``KARTIBA_MEET__API_URL``) or from the secrets file ``meet__service_account_json``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class MeetSettings(BaseModel):
    """A service account with domain-wide delegation reading Meet REST API v2 records.

    The Workspace admin authorises the service account's client id for the scope
    ``https://www.googleapis.com/auth/meetings.space.readonly`` (domain-wide delegation).
    The connector acts as each lesson's teacher: the Meet REST API shows a conference only
    to its space owner or a participant. ``subject`` is an optional fallback: a shared
    organiser account that owns the school's Meet spaces, asked when the teacher has no
    e-mail or sees no conference of the lesson.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    service_account_file: str | None = None  # path of the service account JSON key file
    service_account_json: SecretStr | None = None  # or its content (e.g. from a secrets file)
    subject: str = ""  # optional fallback user (a shared organiser account), see above
    api_url: str = "https://meet.googleapis.com/v2"
    token_url: str = "https://oauth2.googleapis.com/token"
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(30.0, gt=0)
    #: the whole of one call (all its attempts, waits and the answer's last byte), seconds
    total_timeout: float = Field(300.0, gt=0)
    max_answer_mb: float = Field(50.0, gt=0)  # a larger answer fails that call
    ca_bundle: str | None = None  # extra CA bundle file; TLS verification is never disabled
    rate_per_s: float = Field(5.0, gt=0)  # our own request rate towards the Meet API
    retention_days: int = Field(30, ge=1)  # Meet deletes conference records 30 days after end

    def missing(self) -> list[str]:
        """Names of the required settings that are empty (checked when the connector is built)."""
        out = []
        if not self.service_account_file and not (
            self.service_account_json and self.service_account_json.get_secret_value().strip()
        ):
            out.append("service_account_file")
        return out

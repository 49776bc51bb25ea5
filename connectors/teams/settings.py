"""Settings of the Microsoft Teams (Graph) connector: section ``[teams]``.

Every field can come from the environment as ``KARTIBA_TEAMS__<FIELD>`` (for example
``KARTIBA_TEAMS__CLIENT_SECRET``) or from the secrets file ``teams__client_secret``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class TeamsSettings(BaseModel):
    """Microsoft Graph app-only access (client credentials) to Teams attendance reports.

    The app needs the application permissions ``OnlineMeetings.Read.All`` and
    ``OnlineMeetingArtifact.Read.All`` with admin consent, and a Teams *application access
    policy* granted to the teachers whose meetings it reads.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    tenant_id: str = ""  # directory (tenant) id or verified domain
    client_id: str = ""  # application (client) id
    client_secret: SecretStr = SecretStr("")
    graph_url: str = "https://graph.microsoft.com/v1.0"
    login_url: str = "https://login.microsoftonline.com"
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(30.0, gt=0)
    #: the whole of one call (all its attempts, waits and the answer's last byte), seconds
    total_timeout: float = Field(300.0, gt=0)
    max_answer_mb: float = Field(50.0, gt=0)  # a larger answer fails that call
    ca_bundle: str | None = None  # extra CA bundle file; TLS verification is never disabled
    rate_per_s: float = Field(4.0, gt=0)  # our own request rate towards Graph

    def missing(self) -> list[str]:
        """Names of the required settings that are empty (checked when the connector is built)."""
        names = ["tenant_id", "client_id"]
        out = [n for n in names if not getattr(self, n).strip()]
        if not self.client_secret.get_secret_value():
            out.append("client_secret")
        return out

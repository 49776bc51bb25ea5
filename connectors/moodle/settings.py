"""Settings of the skolo.lv (Moodle) connector: section ``[moodle]``.

Every field can come from the environment as ``KARTIBA_MOODLE__<FIELD>`` (for example
``KARTIBA_MOODLE__TOKEN``) or from the secrets file ``moodle__token``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class MoodleSettings(BaseModel):
    """A web-service account on the school's Moodle (skolo.lv), read-only.

    Authentication: either a ``token`` created by the Moodle administrator for the service
    account (Site administration > Server > Web services > Manage tokens), or ``username`` +
    ``password``, exchanged once per run for a token of ``service`` at ``/login/token.php``.
    The account needs, in the courses it reads, the role README "skolo.lv (Moodle) set-up"
    lists (``webservice/rest:use``, ``moodle/course:view``, ``moodle/course:viewparticipants``,
    ``moodle/user:viewdetails``, ``moodle/course:useremail``, ``moodle/site:accessallgroups``,
    ``moodle/course:viewsuspendedusers``, ``mod/assign:view``, ``mod/assign:grade``,
    ``mod/quiz:view``, ``mod/quiz:viewreports``, ``report/progress:view``, the ``view``
    capability of other linked module types). Moodle answers a missing one with warnings,
    fewer users or no e-mails — incomplete evidence, never "no activity"; ``kartiba check``
    names it. A role given at category level covers only that category's courses.

    ``course_ids``: the courses whose activities teachers link in UZDOTS. When set, one
    ``mod_assign_get_assignments`` (and, when quizzes are linked, one
    ``mod_quiz_get_quizzes_by_courses``) call per run covers every link into those courses.
    When empty — or for a link into a course not listed — the course is discovered with one
    ``core_course_get_course_module`` call per unknown link (cached for the run), which says
    all a quiz or another module needs. Listing the courses therefore saves one call per
    link.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    base_url: str = "https://skolo.lv"
    token: SecretStr | None = None
    username: str = ""
    password: SecretStr | None = None
    service: str = "moodle_mobile_app"
    course_ids: list[int] = []
    hosts: list[str] = ["skolo.lv", "www.skolo.lv"]  # link hosts that are this Moodle
    student_roles: list[str] = ["student"]  # role shortnames whose users are students
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(30.0, gt=0)
    #: the whole of one call (all its attempts, waits and the answer's last byte), seconds
    total_timeout: float = Field(300.0, gt=0)
    max_answer_mb: float = Field(50.0, gt=0)  # a larger answer fails that call
    ca_bundle: str | None = None  # extra CA bundle file; TLS verification is never disabled
    rate_per_s: float = Field(5.0, gt=0)  # our own request rate towards Moodle

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http:// for a loopback sandbox)")
        return value

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        return [h.strip().lower() for h in value if h.strip()]

    def missing(self) -> list[str]:
        """Names of the required settings that are empty (checked when the connector is built)."""
        if self.token is not None and self.token.get_secret_value().strip():
            return []
        out = []
        if not self.username.strip():
            out.append("token")  # neither a token nor a username: name the simpler fix
            return out
        if self.password is None or not self.password.get_secret_value():
            out.append("password")
        return out

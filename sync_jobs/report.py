"""``report.html`` of a demo: what was written and mailed at each run, for a person to read."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape


def render_report(scenario, result: dict) -> str:
    """HTML summary of a demo's ``result.json`` (ids only, as result.json has them)."""
    env = Environment(loader=PackageLoader("sync_jobs", "templates"),
                      autoescape=select_autoescape(default=True))
    return env.get_template("report.html.j2").render(school=scenario.school.name,
                                                     runs=result["runs"])

"""``kartiba report``: the deputy director's and class teachers' picture of remote learning.

Numbers come from the state store only (:mod:`sync_jobs.report.model`); names from the
journal's school directory, read once when the report is made and never stored
(:mod:`sync_jobs.report.directory`). Output as HTML with inline SVG charts, XLSX, CSV or JSON
(:mod:`sync_jobs.report.render`). The weekly digest embeds the same numbers.
"""


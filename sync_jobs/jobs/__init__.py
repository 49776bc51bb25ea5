"""The jobs, in the order a run executes them.

The quota job goes first when it runs: it reads the whole school year from the journal once,
and the other jobs' narrower windows are then served from that read.
"""

from sync_jobs.jobs.attendance import AttendanceJob
from sync_jobs.jobs.digest import DigestJob
from sync_jobs.jobs.quota import QuotaJob
from sync_jobs.jobs.uzdots import UzdotsJob

JOBS = {
    QuotaJob.name: QuotaJob,
    AttendanceJob.name: AttendanceJob,
    UzdotsJob.name: UzdotsJob,
    DigestJob.name: DigestJob,
}

__all__ = ["JOBS", "AttendanceJob", "DigestJob", "QuotaJob", "UzdotsJob"]

"""The jobs, in the order a run executes them."""

from sync_jobs.jobs.attendance import AttendanceJob
from sync_jobs.jobs.digest import DigestJob
from sync_jobs.jobs.quota import QuotaJob
from sync_jobs.jobs.uzdots import UzdotsJob

JOBS = {
    AttendanceJob.name: AttendanceJob,
    UzdotsJob.name: UzdotsJob,
    QuotaJob.name: QuotaJob,
    DigestJob.name: DigestJob,
}

__all__ = ["JOBS", "AttendanceJob", "DigestJob", "QuotaJob", "UzdotsJob"]

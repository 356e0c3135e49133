"""The one BackgroundScheduler of the service.

Jobs live in APScheduler's SQLAlchemyJobStore on DATABASE_URL (SQLite or
PostgreSQL), run on a thread pool of SCHEDULER_MAX_WORKERS, with the job
defaults coalesce / misfire_grace_time from the settings. The scheduler's
time zone is the host's local zone (APScheduler's default).
"""
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from app.config import settings

scheduler = BackgroundScheduler(
    jobstores={"default": SQLAlchemyJobStore(url=settings.DATABASE_URL)},
    executors={"default": ThreadPoolExecutor(max_workers=settings.SCHEDULER_MAX_WORKERS)},
    job_defaults={
        "coalesce": settings.SCHEDULER_COALESCE,
        "misfire_grace_time": settings.SCHEDULER_MISFIRE_GRACE_TIME,
    },
)

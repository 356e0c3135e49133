"""The service's job functions. Each only logs what it would do.

Referenced by clients as e.g. "app.jobs.registry:send_daily_digest"; chime
ships the same module compiled in (jobs/app_jobs_registry.c).
"""
import logging

logger = logging.getLogger("app.jobs")


def send_daily_digest(user_segment: str = "all") -> None:
    logger.info("sending daily digest to segment '%s'", user_segment)


def purge_expired_sessions() -> None:
    logger.info("purging expired sessions")


def generate_weekly_report(report_type: str = "revenue") -> None:
    logger.info("generating weekly report '%s'", report_type)

"""The management router: /schedule/jobs (create, list, pause, resume, delete).

Only trigger problems are answered 400: the trigger is built here, inside the
try. Everything add_job raises afterwards (a func that does not resolve, an
unknown job store, an empty name) escapes as a 500 -- the behaviour chime's
compatibility contract documents and improves on. A zero interval is accepted
(APScheduler silently makes it 1 s) and a trigger that never fires is stored
paused (next_run_time null).
"""
from typing import Any, Dict, Optional

from apscheduler.jobstores.base import JobLookupError
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from app.scheduler import scheduler

router = APIRouter(prefix="/schedule", tags=["schedule"])

TRIGGERS = {"interval": IntervalTrigger, "cron": CronTrigger, "date": DateTrigger}


class JobCreate(BaseModel):
    func: str
    trigger: str
    trigger_args: Dict[str, Any] = {}
    name: Optional[str] = None
    jobstore: str = "default"


def job_out(job) -> Dict[str, Any]:
    return {"id": job.id, "name": job.name, "next_run_time": job.next_run_time}


def build_trigger(kind: str, args: Dict[str, Any]):
    if kind not in TRIGGERS:
        raise HTTPException(status_code=400, detail=f"Unsupported trigger: {kind}")
    try:
        return TRIGGERS[kind](**args)
    except (TypeError, ValueError) as exc:
        raise HTTPException(status_code=400, detail=f"Invalid trigger_args: {exc}")


@router.post("/jobs")
def create_job(req: JobCreate):
    trigger = build_trigger(req.trigger, req.trigger_args)
    job = scheduler.add_job(req.func, trigger=trigger, name=req.name, jobstore=req.jobstore)
    return job_out(job)


@router.get("/jobs")
def list_jobs():
    return [dict(job_out(job), trigger=str(job.trigger)) for job in scheduler.get_jobs()]


@router.post("/jobs/{job_id}/pause")
def pause_job(job_id: str):
    try:
        scheduler.pause_job(job_id)
    except JobLookupError:
        raise HTTPException(status_code=404, detail="Job not found")
    return {"status": "paused"}


@router.post("/jobs/{job_id}/resume")
def resume_job(job_id: str):
    try:
        scheduler.resume_job(job_id)
    except JobLookupError:
        raise HTTPException(status_code=404, detail="Job not found")
    return {"status": "resumed"}


@router.delete("/jobs/{job_id}")
def delete_job(job_id: str):
    try:
        scheduler.remove_job(job_id)
    except JobLookupError:
        raise HTTPException(status_code=404, detail="Job not found")
    return {"status": "deleted"}

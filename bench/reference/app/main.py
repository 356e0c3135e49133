"""The FastAPI application: `uvicorn app.main:app` from bench/reference/.

Starts the scheduler with the application and shuts it down with it.
"""
import logging

from fastapi import FastAPI

from app.routers.schedule import router
from app.scheduler import scheduler

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = FastAPI(title="scheduler service")
app.include_router(router)


@app.on_event("startup")
def start_scheduler() -> None:
    scheduler.start()


@app.on_event("shutdown")
def stop_scheduler() -> None:
    scheduler.shutdown()

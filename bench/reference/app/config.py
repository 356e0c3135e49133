"""Settings from the environment or a `.env` file (pydantic 1.10 BaseSettings).

Environment variables win over `.env`; names are matched case-insensitively.
"""
from pydantic import BaseSettings


class Settings(BaseSettings):
    DATABASE_URL: str = "sqlite:///./chime.db"
    SCHEDULER_MAX_WORKERS: int = 10
    SCHEDULER_MISFIRE_GRACE_TIME: int = 60
    SCHEDULER_COALESCE: bool = True

    class Config:
        env_file = ".env"
        env_file_encoding = "utf-8"


settings = Settings()

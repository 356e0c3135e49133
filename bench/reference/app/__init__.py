"""The reference service: APScheduler 3 + a FastAPI management router.

chime's compatibility target (DESIGN.md, "Compatibility contract"), rebuilt
so the integration tests and benchmarks can run the real thing side by side
with chimed. Start it with `uvicorn app.main:app` from bench/reference/.
"""

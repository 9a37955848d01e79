"""Thin Celery tasks (tick, burst, admin, details): each takes ids and JSON primitives and calls
one core function from ``catalog_ingest``. They land with the distributed-execution issue.
"""

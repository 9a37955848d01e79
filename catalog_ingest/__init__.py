"""Incremental catalog ingestion: the Celery-free domain core.

The engine, provider contract, options, sweep guards and admin operations live here; storage is
behind :mod:`catalog_ingest.contracts.storage` (implemented in the top-level ``models`` package) and
distribution (Celery) lives in ``workers`` and ``tasks``.
"""

__version__ = "0.1.0"

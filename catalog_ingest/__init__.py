"""Incremental catalog ingestion: the Celery-free core, grouped by role.

``contracts`` (protocols, records, states, errors) <- ``engine`` <- ``providers``,
``coordination``, ``simulator`` (and the top-level ``models`` storage) <- ``app`` (composition
root, configuration, demo). Celery lives in the top-level ``workers`` and ``tasks``.
"""

__version__ = "0.1.0"

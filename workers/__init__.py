"""Process wiring for distributed execution: the Celery app, queues, routing and worker signals.

The engine, store and providers are Celery-free (``catalog_ingest``, ``models``); this package
only adapts them to Celery. The Celery application itself lands with the distributed-execution
issue; until then the engine runs in-process (``ingest demo``, ``ingest tick``).
"""

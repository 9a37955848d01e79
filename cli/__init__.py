"""The ``ingest`` command line (an adapter like ``workers``: the core stays free of Celery)."""

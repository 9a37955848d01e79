"""The HTTP service (``ingest serve``): Backstage's incremental management routes, event
ingress, Prometheus metrics; bearer tokens with scopes. It sits beside the Celery wiring: it
reads through the composition root's runtime and sends the same tasks the CLI sends."""

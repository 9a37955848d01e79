"""A simulated OpenChoreo API: a deterministic lazy dataset served over HTTP with faults.

It speaks the contract of ``/work/shared/reference/openchoreo-api.yaml`` for the read paths a
catalog provider uses (organizations, projects, components, one component) so clients can be
tested against paging, expiry, authorization filtering and upstream failures. It imports no
Celery and nothing from ``models`` or ``workers``.
"""

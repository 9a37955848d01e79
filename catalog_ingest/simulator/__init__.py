"""A simulated OpenChoreo API: a deterministic lazy dataset served over HTTP with faults.

It serves the read paths a catalog provider uses in both API generations, from the same data:
today's namespace era (``/work/shared/reference/openchoreo-api-namespaces.yaml``: namespaces,
projects, components, workloads, cursor paging; :mod:`.namespace_api`) and the organization
era (``/work/shared/reference/openchoreo-api.yaml``: organizations, projects, components, one
component, ``continue`` paging; :mod:`.api`), so clients can be tested against paging, expiry,
authorization filtering and upstream failures. It imports no Celery and nothing from
``models``, ``workers`` or the providers it stands in for.
"""

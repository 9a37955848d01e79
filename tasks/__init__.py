"""Thin Celery tasks: each takes a provider name (shown in Flower), gets its dependencies from
the process context, calls one core function and returns a small JSON summary.
"""

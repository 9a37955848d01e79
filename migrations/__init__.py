"""Alembic environment and revisions; :func:`migrations.runner.upgrade` applies them safely."""

"""Every Celery task name, in one place: tasks register under these, everything else sends
them (beat, the engine's dispatcher, the embedded mode, the command line, routing)."""

TICK = "ingest.tick"
"""Beat's heartbeat per provider: enqueues a burst when its next action is due."""
BURST = "ingest.burst"
"""One engine step of one provider, under the provider lock."""
DETAIL = "ingest.detail"
"""A small group of deferred items (detail calls) of one page."""
TRIGGER = "ingest.trigger"
START = "ingest.start"
RESET = "ingest.reset"
CLEANUP = "ingest.cleanup"
"""Operator actions (see ``catalog_ingest.engine.admin_operations``)."""

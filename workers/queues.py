"""Queues and routing, declared once: ticks and bursts, detail fetches and operator tasks apart.

Beat, the command line and the engine's dispatcher send tasks by name only; the app's
``task_routes`` (built from :data:`QUEUE_OF`) put each on its queue.
"""

from kombu.entity import Queue

from workers import task_names

INGEST_QUEUE = "ingest"
DETAILS_QUEUE = "details"
ADMIN_QUEUE = "admin"
ALL_QUEUES = (INGEST_QUEUE, DETAILS_QUEUE, ADMIN_QUEUE)

TASK_QUEUES = tuple(Queue(name) for name in ALL_QUEUES)

QUEUE_OF = {
    task_names.TICK: INGEST_QUEUE,
    task_names.BURST: INGEST_QUEUE,
    task_names.DETAIL: DETAILS_QUEUE,
    # Events are ingestion steps: they take the provider's lock between bursts and write its
    # records, so they run where bursts run. A flood of upstream events must not hold up the
    # operator's tasks on ``admin`` (often a small worker), and an event that waits for the
    # lock waits on a burst of the same provider: one burst at most.
    task_names.EVENT: INGEST_QUEUE,
    task_names.TRIGGER: ADMIN_QUEUE,
    task_names.START: ADMIN_QUEUE,
    task_names.RESET: ADMIN_QUEUE,
    task_names.CANCEL: ADMIN_QUEUE,
    task_names.CLEANUP: ADMIN_QUEUE,
    # Upkeep, like the operator's tasks: short, and never behind a flood of bursts or events.
    task_names.EXPIRE: ADMIN_QUEUE,
    task_names.PROJECT: ADMIN_QUEUE,
}
"""Task name -> queue."""

TASK_ROUTES = {name: {"queue": queue} for name, queue in QUEUE_OF.items()}

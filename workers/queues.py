"""Queues and routing: ticks and bursts, detail fetches, and operator tasks apart."""

from kombu.entity import Queue

INGEST_QUEUE = "ingest"
DETAILS_QUEUE = "details"
ADMIN_QUEUE = "admin"
ALL_QUEUES = (INGEST_QUEUE, DETAILS_QUEUE, ADMIN_QUEUE)

TASK_QUEUES = tuple(Queue(name) for name in ALL_QUEUES)

BURST_TASK = "ingest.burst"
DETAIL_TASK = "ingest.detail"

TASK_ROUTES = {
    "ingest.tick": {"queue": INGEST_QUEUE},
    BURST_TASK: {"queue": INGEST_QUEUE},
    DETAIL_TASK: {"queue": DETAILS_QUEUE},
    "ingest.trigger": {"queue": ADMIN_QUEUE},
    "ingest.start": {"queue": ADMIN_QUEUE},
    "ingest.reset": {"queue": ADMIN_QUEUE},
    "ingest.cleanup": {"queue": ADMIN_QUEUE},
}

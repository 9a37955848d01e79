"""The provider's lock for a step run from the command line, taken like a worker's burst."""

from collections.abc import Iterator
from contextlib import contextmanager

from catalog_ingest.app.composition import Runtime
from catalog_ingest.contracts.locking import Lease, ProviderBusyError
from catalog_ingest.engine.options import ProviderOptions
from workers.limits import BurstLimits
from workers.worker_settings import WorkerSettings


@contextmanager
def provider_lease(runtime: Runtime, provider: str) -> Iterator[Lease]:
    """Hold ``provider``'s lock (Redis in the distributed configuration) for one step.

    Same TTL rule as a burst (:meth:`BurstLimits.for_options`). Never waits: while a worker's
    burst holds the lock, a step here would only fence that burst out, so refuse instead
    (:class:`ProviderBusyError`, one line and exit 1: try again later, nothing is wrong).
    An unreachable Redis raises ``RedisError`` (one line, exit 1, in ``cli.main``).
    """
    bindings = runtime.engine.providers
    # A name no provider is configured under (``ingest forget``): the default options' TTL.
    options = bindings[provider].options if provider in bindings else ProviderOptions()
    ttl = BurstLimits.for_options(options, WorkerSettings().time_limit_margin).lock_ttl
    lease = runtime.lock.try_acquire(provider, ttl)
    if lease is None:
        raise ProviderBusyError(
            f"provider {provider} is busy: a worker holds its lock; try again after the burst"
        )
    try:
        yield lease
    finally:
        lease.release()

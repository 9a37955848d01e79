"""The global bound on upstream calls: at most N in flight, each slot resting after its call.

The Redis slots are exercised by several OS processes at once (as workers would), recording
each call's start and end on a shared clock; the local slots by threads.
"""

import multiprocessing
import threading
import time
from typing import Any

import pytest
import redis

from catalog_ingest.contracts.request_slots import SlotTimeoutError
from catalog_ingest.coordination.local_slots import LocalRequestSlots
from catalog_ingest.coordination.redis_slots import RedisRequestSlots

CALL = 0.02
"""Seconds one simulated call takes."""


def _calls_in_a_process(
    url: str, slots: int, rest: float, calls: int, start_at: float, out: Any
) -> None:
    bound = RedisRequestSlots(redis.Redis.from_url(url), "p", slots, rest, lease=10)
    time.sleep(max(0.0, start_at - time.time()))  # every process starts calling together
    for _ in range(calls):
        with bound.hold(timeout=30):
            started = time.time()
            time.sleep(CALL)
            out.put((started, time.time()))


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    current = peak = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def min_gap_per_slot_bound(intervals: list[tuple[float, float]], slots: int, rest: float) -> bool:
    """With ``slots`` slots resting ``rest`` after each call, any window of ``slots + 1``
    consecutive starts spans at least one call plus one rest (minus scheduling jitter)."""
    starts = sorted(s for s, _ in intervals)
    return all(
        starts[i + slots] - starts[i] >= CALL + rest - 0.005 for i in range(len(starts) - slots)
    )


def test_processes_sharing_redis_slots_never_exceed_the_bound_and_keep_the_pacing(
    redis_url: str,
) -> None:
    slots, rest, processes, calls = 3, 0.05, 4, 15
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    start_at = time.time() + 4  # after every spawned interpreter has imported
    workers = [
        context.Process(
            target=_calls_in_a_process, args=(redis_url, slots, rest, calls, start_at, out)
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    intervals = [out.get(timeout=60) for _ in range(processes * calls)]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert max_overlap(intervals) == slots
    assert min_gap_per_slot_bound(intervals, slots, rest)


def test_a_slot_whose_holder_died_frees_itself_after_its_lease(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    dead = RedisRequestSlots(client, "p", 1, rest=0, lease=0.3)
    held = dead.hold(timeout=1)
    held.__enter__()  # never exited: the holder "dies"
    alive = RedisRequestSlots(client, "p", 1, rest=0, lease=5)
    with pytest.raises(SlotTimeoutError), alive.hold(timeout=0.1):
        pass
    started = time.monotonic()
    with alive.hold(timeout=2):
        waited = time.monotonic() - started
    assert 0.1 <= waited <= 0.6


def test_only_the_holder_hands_a_slot_back(redis_url: str) -> None:
    """A late release by a holder whose lease expired must not free the new holder's slot."""
    client = redis.Redis.from_url(redis_url)
    slow = RedisRequestSlots(client, "p", 1, rest=0, lease=0.2)
    other = RedisRequestSlots(client, "p", 1, rest=0, lease=5)
    late = slow.hold(timeout=1)
    late.__enter__()
    time.sleep(0.3)
    with other.hold(timeout=1):
        late.__exit__(None, None, None)  # the expired holder finishes now
        with pytest.raises(SlotTimeoutError), slow.hold(timeout=0.1):
            pass


def test_processes_that_disagree_on_the_number_of_slots_never_reset_a_held_one(
    redis_url: str,
) -> None:
    """A rolling configuration change (5 slots here, 2 there): the larger bound holds."""
    client = redis.Redis.from_url(redis_url)
    five = RedisRequestSlots(client, "p", 5, rest=0, lease=30)
    two = RedisRequestSlots(client, "p", 2, rest=0, lease=30)
    held = [five.hold(timeout=1) for _ in range(5)]
    for slot in held:
        slot.__enter__()
    with pytest.raises(SlotTimeoutError), two.hold(timeout=0.1):
        pass  # the 2-slot process neither steals nor resets slots the others hold
    with pytest.raises(SlotTimeoutError), five.hold(timeout=0.1):
        pass  # ...and the 5-slot process still sees all five held
    held.pop(4).__exit__(None, None, None)  # slot 4: beyond what the 2-slot process uses
    with pytest.raises(SlotTimeoutError), two.hold(timeout=0.1):
        pass
    held.pop(0).__exit__(None, None, None)  # slot 0
    with two.hold(timeout=1):
        pass
    for slot in held:
        slot.__exit__(None, None, None)


def _threads(slots: LocalRequestSlots, threads: int, calls: int) -> list[tuple[float, float]]:
    intervals: list[tuple[float, float]] = []
    lock = threading.Lock()

    def run() -> None:
        for _ in range(calls):
            with slots.hold(timeout=30):
                started = time.time()
                time.sleep(CALL)
                with lock:
                    intervals.append((started, time.time()))

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return intervals


@pytest.mark.parametrize(("slots", "rest"), [(2, 0.05), (4, 0.0)])
def test_local_slots_bound_threads_the_same_way(slots: int, rest: float) -> None:
    intervals = _threads(LocalRequestSlots(slots, rest), threads=6, calls=8)
    assert len(intervals) == 48
    assert max_overlap(intervals) == slots
    assert min_gap_per_slot_bound(intervals, slots, rest)


def test_local_slots_time_out_when_all_are_held() -> None:
    bound = LocalRequestSlots(1, rest=0)
    held = bound.hold(timeout=0.05)
    held.__enter__()
    with pytest.raises(SlotTimeoutError), bound.hold(timeout=0.05):
        pass
    held.__exit__(None, None, None)
    with bound.hold(timeout=0.05):
        pass


def test_a_waiter_is_woken_by_the_hand_back_instead_of_polling(redis_url: str) -> None:
    """While every slot is held, a waiter blocks on the hand-back notices: it takes the slot
    within a round trip of its release, after a handful of attempts (polling every 50 ms
    would make some twenty in the second the slot is held)."""
    client = redis.Redis.from_url(redis_url)
    holder = RedisRequestSlots(client, "p", 1, rest=0, lease=30)
    waiter = RedisRequestSlots(client, "p", 1, rest=0, lease=30)
    attempts: list[float] = []
    take = waiter._acquire

    def counted(*args: Any, **kwargs: Any) -> Any:
        attempts.append(time.monotonic())
        return take(*args, **kwargs)

    waiter._acquire = counted  # type: ignore[assignment]
    acquired: list[float] = []

    def wait_for_the_slot() -> None:
        with waiter.hold(timeout=10):
            acquired.append(time.monotonic())

    with holder.hold(timeout=1):
        thread = threading.Thread(target=wait_for_the_slot)
        thread.start()
        time.sleep(1.0)
        released = time.monotonic()
    thread.join(timeout=5)
    assert len(acquired) == 1
    assert acquired[0] - released < 0.2
    assert len(attempts) <= 3

"""The walk over organizations -> projects -> components, on an in-memory listing server.

The fake server pages sorted names with opaque tokens and can expire tokens (410), repeat
items, hide items (short or empty pages with hasMore) and delete parents mid-walk (404), so
the walk's exactness is checked over many random schedules quickly; the same walk is tested
against the HTTP simulator in ``test_provider.py``.
"""

import random
from collections.abc import Callable

import orjson
import pytest

from catalog_ingest.providers.openchoreo.listing import MAX_PAGES_WITHOUT_PROGRESS
from catalog_ingest.providers.openchoreo.upstream_errors import (
    ContinueTokenExpiredError,
    NotFoundError,
    UpstreamContractError,
)
from catalog_ingest.providers.openchoreo.walk import Listing, Position, WalkCursor, step

Tree = dict[str, dict[str, list[str]]]
"""org -> project -> component names."""


def tree(orgs: int, projects: int, components: int) -> Tree:
    return {
        f"o{i:03d}": {
            f"o{i:03d}-p{j:03d}": [f"o{i:03d}-p{j:03d}-c{k:03d}" for k in range(components)]
            for j in range(projects)
        }
        for i in range(orgs)
    }


class FakeServer:
    """Pages sorted children; tokens are ``<listing>#<offset>``."""

    def __init__(
        self,
        data: Tree,
        limit: int,
        *,
        rng: random.Random | None = None,
        expire_rate: float = 0.0,
        repeat_rate: float = 0.0,
        hidden: Callable[[str], bool] = lambda _name: False,
    ) -> None:
        self.data = data
        self.limit = limit
        self.rng = rng or random.Random(0)
        self.expire_rate = expire_rate
        self.repeat_rate = repeat_rate
        self.hidden = hidden
        self.calls = 0
        self.expired = 0

    def children(self, depth: int, parents: tuple[str, ...]) -> list[str]:
        if depth == 0:
            return sorted(self.data)
        if parents[0] not in self.data:
            raise NotFoundError(f"org {parents[0]}")
        if depth == 1:
            return sorted(self.data[parents[0]])
        if parents[1] not in self.data[parents[0]]:
            raise NotFoundError(f"project {parents[1]}")
        return sorted(self.data[parents[0]][parents[1]])

    def fetch(self, depth: int, parents: tuple[str, ...], token: str | None) -> Listing:
        self.calls += 1
        names = self.children(depth, parents)
        listing = "/".join((str(depth), *parents))
        offset = 0
        if token is not None:
            if self.rng.random() < self.expire_rate:
                self.expired += 1
                raise ContinueTokenExpiredError("410")
            owner, _, last = token.partition("#")
            assert owner == listing, "token of another listing"
            offset = sum(1 for name in names if name <= last)
        chunk = names[offset : offset + self.limit]
        has_more = offset + self.limit < len(names)
        next_token = f"{listing}#{chunk[-1]}" if has_more else None
        if offset and self.rng.random() < self.repeat_rate:
            chunk = [names[offset - 1], *chunk]
        visible = [name for name in chunk if not self.hidden(name)]
        return Listing(visible, visible, next_token, has_more)


def walk_all(server: FakeServer, want: int = 7, max_fetches: int = 5) -> list[tuple[int, str]]:
    """Every emitted ``(depth, path)`` in order, resuming from a JSON round trip each step."""
    emitted: list[tuple[int, str]] = []
    cursor: object = None
    for _ in range(100_000):
        result = step(WalkCursor.load(cursor), server.fetch, want=want, max_fetches=max_fetches)  # type: ignore[arg-type]
        for batch in result.emitted:
            emitted.extend((batch.depth, "/".join((*batch.parents, name))) for name in batch.items)
        if result.cursor is None:
            return emitted
        cursor = orjson.loads(orjson.dumps(result.cursor.dump()))
    raise AssertionError("walk did not finish")


def expected(
    data: Tree, hidden: Callable[[str], bool] = lambda _name: False
) -> list[tuple[int, str]]:
    orgs = [o for o in sorted(data) if not hidden(o)]
    result = [(0, o) for o in orgs]
    result += [(1, f"{o}/{p}") for o in orgs for p in sorted(data[o]) if not hidden(p)]
    result += [
        (2, f"{o}/{p}/{c}")
        for o in orgs
        for p in sorted(data[o])
        if not hidden(p)
        for c in sorted(data[o][p])
        if not hidden(c)
    ]
    return result


def test_a_walk_emits_every_item_once_in_dependency_order() -> None:
    data = tree(4, 3, 5)
    assert walk_all(FakeServer(data, limit=2)) == expected(data)


@pytest.mark.parametrize("seed", range(25))
def test_expired_tokens_at_random_points_in_all_phases_change_nothing(seed: int) -> None:
    data = tree(5, 4, 6)
    server = FakeServer(data, limit=2, rng=random.Random(seed), expire_rate=0.3)
    assert walk_all(server) == expected(data)
    assert server.expired > 0


@pytest.mark.parametrize("seed", range(10))
def test_items_repeated_across_pages_are_emitted_once(seed: int) -> None:
    data = tree(4, 3, 7)
    server = FakeServer(data, limit=3, rng=random.Random(seed), repeat_rate=0.7)
    assert walk_all(server) == expected(data)


def test_hidden_items_give_short_and_empty_pages_that_the_walk_passes_through() -> None:
    data = tree(3, 4, 8)
    hidden = lambda name: name.endswith(("1", "2", "3"))  # noqa: E731
    server = FakeServer(data, limit=2, hidden=hidden)
    assert walk_all(server, want=3) == expected(data, hidden)


def test_a_project_deleted_mid_walk_is_skipped_and_the_walk_goes_on() -> None:
    data = tree(2, 3, 4)
    server = FakeServer(data, limit=2)
    original = server.fetch

    def fetch(depth: int, parents: tuple[str, ...], token: str | None) -> Listing:
        if depth == 2 and parents == ("o000", "o000-p001") and token is not None:
            data["o000"].pop("o000-p001", None)  # deleted after its first page
        return original(depth, parents, token)

    server.fetch = fetch  # type: ignore[method-assign]
    emitted = walk_all(server)
    components = [path for depth, path in emitted if depth == 2]
    assert "o000/o000-p001/o000-p001-c000" in components  # its first page was emitted
    assert "o000/o000-p001/o000-p001-c002" not in components
    assert [p for p in components if not p.startswith("o000/o000-p001/")] == [
        p for d, p in expected(data) if d == 2 and not p.startswith("o000/o000-p001/")
    ]


def test_an_organization_deleted_mid_walk_is_skipped() -> None:
    data = tree(3, 2, 2)
    server = FakeServer(data, limit=1)
    original = server.fetch

    def fetch(depth: int, parents: tuple[str, ...], token: str | None) -> Listing:
        if depth == 2 and parents[0] == "o000":
            data.pop("o001", None)
        return original(depth, parents, token)

    server.fetch = fetch  # type: ignore[method-assign]
    emitted = walk_all(server)
    assert not any(path.startswith("o001/") for depth, path in emitted if depth == 2)
    assert any(path.startswith("o002/") for depth, path in emitted if depth == 2)


def test_a_token_that_does_not_advance_is_an_error_not_a_loop() -> None:
    def stuck(depth: int, parents: tuple[str, ...], token: str | None) -> Listing:
        return Listing(["a"], ["a"], "same", True)

    cursor = WalkCursor.load(None)
    first = step(cursor, stuck, want=100, max_fetches=1)
    assert first.cursor is not None
    with pytest.raises(UpstreamContractError, match="continue token did not advance"):
        step(first.cursor, stuck, want=100, max_fetches=10)


def test_tokens_that_cycle_without_moving_forward_are_an_error_not_a_loop() -> None:
    """Tokens A, B, A, B...: each differs from the one sent, so an equality check passes, but
    page B leads back to the first organizations and the listing never gets anywhere. The walk
    used to loop forever on this."""
    pages = {None: ["o1", "o2"], "A": ["o3", "o4"], "B": ["o1", "o2"]}
    following = {None: "A", "A": "B", "B": "A"}

    def cycling(depth: int, parents: tuple[str, ...], token: str | None) -> Listing:
        if depth > 0:
            return Listing([], [], None, False)
        return Listing(pages[token], pages[token], following[token], True)

    cursor = WalkCursor.load(None)
    with pytest.raises(UpstreamContractError, match="did not advance") as failure:
        for _ in range(1000):
            result = step(cursor, cycling, want=1000, max_fetches=7)
            assert result.cursor is not None
            cursor = WalkCursor.load(orjson.loads(orjson.dumps(result.cursor.dump())))
    assert f"{MAX_PAGES_WITHOUT_PROGRESS} pages in a row" in str(failure.value)
    assert str(failure.value).startswith("listing organizations: ")


def test_a_listing_out_of_name_order_is_a_contract_error() -> None:
    def unordered(depth: int, parents: tuple[str, ...], token: str | None) -> Listing:
        return Listing(["b", "a"], ["b", "a"], None, False)

    with pytest.raises(UpstreamContractError, match="not ordered by name"):
        step(WalkCursor.load(None), unordered, want=100, max_fetches=1)


def test_the_cursor_stays_small_for_a_thousand_organizations_of_a_hundred_projects() -> None:
    """The cursor holds three positions at most; tokens are the only variable part."""
    data = {
        f"org-{i:04d}": {f"org-{i:04d}-project-{j:03d}": ["c"] for j in range(100)}
        for i in range(1000)
    }
    server = FakeServer(data, limit=100)
    cursor: WalkCursor | None = WalkCursor.load(None)
    largest = 0
    steps = 0
    while cursor is not None and cursor.phase < 2:
        result = step(cursor, server.fetch, want=100, max_fetches=3)
        cursor = result.cursor
        steps += 1
        if cursor is not None:
            size = len(orjson.dumps(cursor.dump()))
            largest = max(largest, size)
    assert cursor is not None and cursor.phase == 2
    assert steps > 1000
    assert largest < 2048
    deepest = WalkCursor(
        phase=2, stack=[Position(token="t" * 300, after=letter * 63) for letter in "opc"]
    )
    assert len(orjson.dumps(deepest.dump())) < 2048


@pytest.mark.parametrize(
    "cursor",
    [{"next": 3}, {"v": 2, "p": 0, "s": [{}]}, {"v": 1, "p": 0, "s": [{}, {}]}, [1, 2], "x"],
)
def test_a_cursor_this_walk_did_not_write_is_refused_clearly(cursor: object) -> None:
    with pytest.raises(ValueError, match="cursor"):
        WalkCursor.load(cursor)  # type: ignore[arg-type]


def test_a_listing_whose_tokens_always_expire_fails_instead_of_restarting_forever() -> None:
    server = FakeServer(tree(3, 1, 1), limit=1, expire_rate=1.0)
    with pytest.raises(ContinueTokenExpiredError, match="expired 6 times in a row"):
        walk_all(server, max_fetches=20)

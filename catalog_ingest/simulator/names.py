"""Item names: DNS labels whose string order equals generator order within each listing.

A generated name embeds zero-padded indexes before a seeded word, so the position of any name
in a listing of a million components is found by bisection without building the listing.
"""

from catalog_ingest.simulator.draws import stable_int
from catalog_ingest.simulator.spec import MAX_NAME_LENGTH, MAX_WORD_LENGTH, DatasetSpec, Level

ORG_WORDS = ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka")
PROJECT_WORDS = (
    "storefront",
    "backoffice",
    "platform",
    "mobile",
    "analytics",
    "partners",
    "internal",
    "marketing",
    "logistics",
    "finance",
)
COMPONENT_WORDS = (
    "payments",
    "orders",
    "billing",
    "catalog",
    "search",
    "auth",
    "gateway",
    "ledger",
    "profile",
    "inventory",
    "shipping",
    "checkout",
    "reviews",
    "pricing",
    "metrics",
    "notifier",
    "cart",
    "users",
    "reports",
    "media",
    "audit",
    "ratings",
    "quotes",
    "tickets",
    "booking",
    "invoices",
    "wallet",
    "loyalty",
    "fraud",
    "webhooks",
)
assert max(len(w) for w in ORG_WORDS + PROJECT_WORDS + COMPONENT_WORDS) <= MAX_WORD_LENGTH

PREFIXES: dict[Level, str] = {"org": "org", "project": "proj", "component": "comp"}


class Namer:
    """Names of generated items from their indexes (org i, project j, component k)."""

    def __init__(self, spec: DatasetSpec) -> None:
        self._seed = spec.seed
        self._shared = spec.shared_names
        self._wo = spec.width("org")
        self._wp = spec.width("project")
        self._wc = spec.width("component")

    def _word(self, words: tuple[str, ...], *key: int) -> str:
        return words[stable_int(self._seed, *key) % len(words)]

    def org(self, i: int) -> str:
        return f"org-{i:0{self._wo}d}-{self._word(ORG_WORDS, 0, i)}"

    def project(self, i: int, j: int) -> str:
        if self._shared:
            return f"proj-{j:0{self._wp}d}-{self._word(PROJECT_WORDS, 1, j)}"
        return f"proj-{i:0{self._wo}d}-{j:0{self._wp}d}-{self._word(PROJECT_WORDS, 1, i, j)}"

    def component(self, i: int, j: int, k: int) -> str:
        if self._shared:
            word = self._word(COMPONENT_WORDS, 2, j, k)
            return f"comp-{j:0{self._wp}d}-{k:0{self._wc}d}-{word}"
        word = self._word(COMPONENT_WORDS, 2, i, j, k)
        return f"comp-{i:0{self._wo}d}-{j:0{self._wp}d}-{k:0{self._wc}d}-{word}"

    def child(self, parent_indexes: tuple[int, ...], index: int) -> str:
        """Name of the ``index``-th generated child of the node at ``parent_indexes``."""
        if len(parent_indexes) == 0:
            return self.org(index)
        if len(parent_indexes) == 1:
            return self.project(parent_indexes[0], index)
        return self.component(parent_indexes[0], parent_indexes[1], index)


def added_name(level: Level, anchor: str | None, serial: int) -> str:
    """A new unique name sorting right after ``anchor`` (so additions interleave), or a fresh one.

    The ``-n<serial>`` suffix is unique dataset-wide and no generated name ends with it.
    """
    suffix = f"-n{serial}"
    stem = anchor if anchor is not None else f"{PREFIXES[level]}-new"
    stem = stem[: MAX_NAME_LENGTH - len(suffix)].rstrip("-")
    return stem + suffix

"""The ``url`` source: Backstage entity documents fetched over HTTP, walked in pages.

The cursor is the document being read (its index in ``urls``) and how many of its entities
were consumed (``{"url": i, "doc": n}``); a page holds up to ``page_size`` entities and may
span documents. Within a burst a document is fetched once.

Each process keeps the last copy of every document it fetched, parsed, with its ETag and
Last-Modified: the next fetch is conditional, and a 304 hands on the copy held without
parsing anything, so the unchanged document's entities are provided again (the engine's
content hashes make that cost no write) and the completed refresh keeps them. A process that
holds no copy (another worker's first fetch) asks unconditionally: the same result, one parse
more. Memory: one parsed copy of each document, per process.
"""

import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from catalog_ingest.contracts.errors import ContractViolationError
from catalog_ingest.contracts.provider import BurstInfo, Entity, JSONValue, Page
from catalog_ingest.providers.sources.documents import is_json, parse_documents
from catalog_ingest.providers.sources.http_documents import (
    Validators,
    fetch_document,
    shown,
)
from catalog_ingest.providers.sources.url_settings import UrlSourceSettings

MAX_REDIRECTS = 5


class UrlCursorError(ContractViolationError):
    """A stored cursor this source did not write."""


@dataclass(frozen=True, slots=True)
class HeldCopy:
    """The last copy of a document this process fetched: its validators and entities."""

    validators: Validators
    entities: list[Any]


@dataclass
class UrlWalk:
    """What one burst uses: the HTTP client, and the documents it already fetched."""

    client: httpx.Client
    fetched: dict[int, list[Any]] = field(default_factory=dict)


def _position(cursor: JSONValue) -> tuple[int, int]:
    if cursor is None:
        return 0, 0
    if isinstance(cursor, Mapping):
        index, doc = cursor.get("url"), cursor.get("doc")
        if isinstance(index, int) and isinstance(doc, int) and index >= 0 and doc >= 0:
            return index, doc
    raise UrlCursorError(f"url source cursor must hold 'url' and 'doc', got {cursor!r}")


class UrlSourceProvider:
    """A ``url`` source as a provider of the engine."""

    def __init__(self, name: str, settings: UrlSourceSettings, page_size: int) -> None:
        self._name = name
        self.settings = settings
        self.page_size = page_size
        self._held: dict[str, HeldCopy] = {}
        self._held_lock = threading.Lock()
        self.parsed = 0
        """Documents parsed by this process (a 304 parses nothing)."""

    @property
    def name(self) -> str:
        return self._name

    def around(self, burst: BurstInfo) -> AbstractContextManager[UrlWalk]:
        return self._walk()

    @contextmanager
    def _walk(self) -> Iterator[UrlWalk]:
        settings = self.settings
        with httpx.Client(
            headers=settings.headers,
            timeout=settings.timeout_seconds,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
        ) as client:
            yield UrlWalk(client)

    def next(self, context: UrlWalk, cursor: JSONValue) -> Page:
        index, doc = _position(cursor)
        urls = self.settings.urls
        entities: list[Entity] = []
        while index < len(urls):
            documents = self._documents(context, index)
            taken = documents[doc : doc + self.page_size - len(entities)]
            entities.extend(taken)
            doc += len(taken)
            if len(entities) >= self.page_size:
                return Page(done=False, entities=entities, cursor={"url": index, "doc": doc})
            index, doc = index + 1, 0
        return Page(done=True, entities=entities)

    def _documents(self, context: UrlWalk, index: int) -> list[Any]:
        if index not in context.fetched:
            context.fetched = {index: self.fetch(context.client, self.settings.urls[index])}
        return context.fetched[index]

    def fetch(self, client: httpx.Client, url: str) -> list[Any]:
        """The document's entities: the held copy when the server says it is current."""
        with self._held_lock:
            held = self._held.get(url)
        validators = held.validators if held is not None else Validators()
        fetched = fetch_document(client, url, validators, self.settings.max_document_bytes)
        if fetched.body is None and held is not None:
            return held.entities
        assert fetched.body is not None
        as_json = is_json(urlsplit(url).path, fetched.content_type)
        entities = parse_documents(fetched.body, f"GET {shown(url)}", json=as_json)
        self.parsed += 1
        with self._held_lock:
            if fetched.validators:
                self._held[url] = HeldCopy(fetched.validators, entities)
            else:
                self._held.pop(url, None)
        return entities

    def describe_cursor(self, cursor: JSONValue) -> Mapping[str, str]:
        """``ingest status``: the document being read and the entities consumed."""
        try:
            index, doc = _position(cursor)
        except UrlCursorError:
            return {}
        urls = self.settings.urls
        url = shown(urls[index]) if index < len(urls) else f"#{index}"
        return {"url": url, "entities": str(doc)}

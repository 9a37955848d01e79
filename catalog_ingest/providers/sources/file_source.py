"""The ``file`` source: Backstage entity files (YAML, multi-document; JSON), walked in pages.

The cursor is the file being read and how many of its documents were consumed
(``{"file": path, "doc": n}``); the files are in path order, so a resumed walk finds its place
by path even when files were added or removed in between (an index into the listing would
shift). A page holds up to ``page_size`` documents and may span files. Within a burst the
listing and the file being read are parsed once, not once per page.
"""

import bisect
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from catalog_ingest.contracts.errors import ContractViolationError
from catalog_ingest.contracts.provider import BurstInfo, Entity, JSONValue, Page
from catalog_ingest.providers.sources.documents import EntityDocumentError, is_json, parse_documents
from catalog_ingest.providers.sources.file_set import expand_paths
from catalog_ingest.providers.sources.file_settings import FileSourceSettings


class FileCursorError(ContractViolationError):
    """A stored cursor this source did not write."""


@dataclass
class FileWalk:
    """What one burst has read: the listing, and the documents of the file being read."""

    settings: FileSourceSettings
    _files: list[str] | None = None
    _parsed: tuple[str, list[Any]] | None = None

    def files(self) -> list[str]:
        if self._files is None:
            self._files = expand_paths(self.settings.paths)
        return self._files

    def documents(self, path: str) -> list[Any]:
        if self._parsed is None or self._parsed[0] != path:
            self._parsed = (path, read_entity_file(path, self.settings.max_file_bytes))
        return self._parsed[1]


def read_entity_file(path: str, max_bytes: int) -> list[Any]:
    """The documents of one file; :class:`EntityDocumentError` if unreadable or too large."""
    try:
        with open(path, "rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as error:
        raise EntityDocumentError(f"{path}: cannot be read: {error.strerror}") from None
    if len(data) > max_bytes:
        raise EntityDocumentError(f"{path}: larger than max_file_bytes ({max_bytes:,})")
    return parse_documents(data, path, json=is_json(path))


def _position(cursor: JSONValue) -> tuple[str, int] | None:
    if cursor is None:
        return None
    if not isinstance(cursor, Mapping):
        raise FileCursorError(f"file source cursor must be an object, got {cursor!r}")
    path, doc = cursor.get("file"), cursor.get("doc")
    if not isinstance(path, str) or not isinstance(doc, int) or doc < 0:
        raise FileCursorError(f"file source cursor must hold 'file' and 'doc', got {cursor!r}")
    return path, doc


class FileSourceProvider:
    """A ``file`` source as a provider of the engine."""

    def __init__(self, name: str, settings: FileSourceSettings, page_size: int) -> None:
        self._name = name
        self.settings = settings
        self.page_size = page_size

    @property
    def name(self) -> str:
        return self._name

    def around(self, burst: BurstInfo) -> AbstractContextManager[FileWalk]:
        return nullcontext(FileWalk(self.settings))

    def next(self, context: FileWalk, cursor: JSONValue) -> Page:
        files = context.files()
        position = _position(cursor)
        index, doc = 0, 0
        if position is not None:
            index = bisect.bisect_left(files, position[0])
            doc = position[1] if index < len(files) and files[index] == position[0] else 0
        entities: list[Entity] = []
        while index < len(files):
            documents = context.documents(files[index])
            taken = documents[doc : doc + self.page_size - len(entities)]
            entities.extend(taken)
            doc += len(taken)
            if len(entities) >= self.page_size:
                return Page(
                    done=False, entities=entities, cursor={"file": files[index], "doc": doc}
                )
            index, doc = index + 1, 0
        return Page(done=True, entities=entities)

    def describe_cursor(self, cursor: JSONValue) -> Mapping[str, str]:
        """``ingest status``: the file being read and the documents consumed."""
        try:
            position = _position(cursor)
        except FileCursorError:
            return {}
        return {} if position is None else {"file": position[0], "documents": str(position[1])}

"""Backstage entity documents: multi-document YAML, or JSON (one object or an array of them).

Parsing is bounded (:mod:`catalog_ingest.formats.bounded_yaml`: alias bombs, recursion, depth),
and the text's size is bounded by the caller. Every document is handed on as it is, valid or
not: the engine validates each entity and rejects invalid ones one by one, counted
(``rejected``) and logged, like any provider's. A text that cannot be parsed at all is an
:class:`EntityDocumentError`: the refresh backs off and keeps what the source provided before,
as a broken Backstage location does.
"""

from typing import Any

import orjson
import yaml

from catalog_ingest.contracts.errors import UpstreamError
from catalog_ingest.formats.bounded_yaml import YamlLimitError, iter_bounded_yaml_documents


class EntityDocumentError(UpstreamError):
    """A file or response that cannot be read as entity documents (syntax, encoding, size)."""


def is_json(name: str, content_type: str | None = None) -> bool:
    """JSON by its name (``.json``) or its media type (``application/json``, ``+json``)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return name.lower().endswith(".json") or media == "application/json" or media.endswith("+json")


def parse_documents(data: bytes, origin: str, *, json: bool) -> list[Any]:
    """The entity documents of ``data``, in order; empty YAML documents are skipped and a
    top-level list (a JSON array) gives its items. ``origin`` names the text in errors."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise EntityDocumentError(f"{origin}: not UTF-8 text ({error.reason})") from None
    documents = _json_documents(text, origin) if json else _yaml_documents(text, origin)
    entities: list[Any] = []
    for document in documents:
        if isinstance(document, list):
            entities.extend(document)
        elif document is not None:
            entities.append(document)
    return entities


def _json_documents(text: str, origin: str) -> list[Any]:
    try:
        return [orjson.loads(text)]
    except orjson.JSONDecodeError as error:
        raise EntityDocumentError(f"{origin}: invalid JSON: {error}") from None


def _yaml_documents(text: str, origin: str) -> list[Any]:
    try:
        return list(iter_bounded_yaml_documents(text))
    except YamlLimitError as error:
        raise EntityDocumentError(f"{origin}: refused YAML: {_one_line(error)}") from None
    except yaml.YAMLError as error:
        raise EntityDocumentError(f"{origin}: invalid YAML: {_one_line(error)}") from None


def _one_line(error: yaml.YAMLError) -> str:
    return " ".join(str(error).split())

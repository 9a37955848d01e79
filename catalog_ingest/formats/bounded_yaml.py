"""YAML parsing that a hostile file cannot turn into a hang, a crash or an exhausted memory.

Anchors and aliases stay allowed (a Backstage app-config may share an ``incremental:`` block
between entries), but the document is checked as a node graph *before* Python objects are
built, which is cheap because an alias is a shared node there:

- an alias inside the node it refers to (``a: &a [*a]``) is refused: it would be an infinitely
  deep value, which every later walk of the configuration overflows on;
- the document's size once every alias is expanded is bounded (:data:`MAX_EXPANDED_NODES`):
  a "billion laughs" bomb is a few lines of aliases that expand to millions of values;
- nesting is bounded (:data:`MAX_DEPTH`), far below Python's recursion limit.

The text's size is bounded by the caller (the configuration file, an entity file).
"""

from collections.abc import Iterator
from typing import Any

import yaml

from catalog_ingest.contracts.errors import IngestError

MAX_EXPANDED_NODES = 100_000
MAX_DEPTH = 64

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


_EntityLoader: type[yaml.SafeLoader] = type(
    "_EntityLoader",
    (_Loader,),
    {
        "yaml_implicit_resolvers": {
            first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
            for first, resolvers in _Loader.yaml_implicit_resolvers.items()
        }
    },
)
"""The loader of entity documents: ``2024-05-01`` stays a string, as Backstage's YAML parser
reads it (an entity is JSON: a date object would make it unserialisable, and rejected)."""


class YamlLimitError(IngestError, yaml.MarkedYAMLError):
    """The document is valid YAML but refused: recursive, too large once expanded, too deep."""


def load_bounded_yaml(text: str) -> Any:
    """The document of ``text``, like ``yaml.safe_load``; :class:`YamlLimitError` if refused."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _NodeSizes().size(node, 0)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def iter_bounded_yaml_documents(text: str) -> Iterator[Any]:
    """Every document of a multi-document stream, each bounded as :func:`load_bounded_yaml`
    bounds one; built one at a time (a later document is not even parsed before the caller
    asks for it). Timestamps stay strings (entity documents are JSON)."""
    loader = _EntityLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                return
            _NodeSizes().size(node, 0)
            yield loader.construct_document(node)
    finally:
        loader.dispose()


class _NodeSizes:
    """Expanded sizes of nodes, memoised by identity so shared (aliased) nodes cost once."""

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()

    def size(self, node: yaml.Node, depth: int) -> int:
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in self.open:
            raise YamlLimitError(
                None,
                None,
                "an alias refers to a node that contains it (recursive)",
                node.start_mark,
            )
        if depth > MAX_DEPTH:
            raise YamlLimitError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", node.start_mark
            )
        self.open.add(id(node))
        total = 1 + sum(self.size(child, depth + 1) for child in _children(node))
        self.open.discard(id(node))
        if total > MAX_EXPANDED_NODES:
            raise YamlLimitError(
                None,
                None,
                f"expands to more than {MAX_EXPANDED_NODES:,} values through its aliases",
                node.start_mark,
            )
        self.sizes[id(node)] = total
        return total


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []

"""``fields``: keep only the given dotted paths of an entity (Backstage's projection).

``metadata.name,spec`` keeps ``metadata.name`` and the whole ``spec``; the rest is pruned.
A key may itself hold dots (``metadata.annotations.backstage.io/managed-by-location``): at
each level the longest key that matches the rest of the path wins.
"""

from typing import Any


def project(entity: Any, paths: tuple[str, ...]) -> Any:
    """``entity`` reduced to ``paths``; the entity itself when no path is given."""
    if not paths or not isinstance(entity, dict):
        return entity
    kept: dict[str, Any] = {}
    for path in paths:
        _copy(entity, kept, path.split("."))
    return kept


def _copy(source: dict[str, Any], target: dict[str, Any], parts: list[str]) -> None:
    for end in range(len(parts), 0, -1):
        key = ".".join(parts[:end])
        if key not in source:
            continue
        rest = parts[end:]
        if not rest:
            target[key] = source[key]
        elif isinstance(source[key], dict):
            created = key not in target
            child = target.setdefault(key, {})
            if isinstance(child, dict):
                _copy(source[key], child, rest)
                if created and not child:
                    del target[key]
        return

"""What is accepted but worth a word: settings ignored here, values the upstream caps.

A warning renders like a problem (``<location>: <value> - <message>``) but never makes the
configuration invalid: ``check-config`` prints it and still exits 0.

- The ``openchoreo:`` block of today's official Backstage plugin (openchoreo/backstage-plugins,
  ``app-config.production.yaml`` and ``plugins/openchoreo-common/config.d.ts``) carries keys for
  other modules (UI features, the event router, the portal assistant...) and for its own
  scheduler; they mean nothing to this ingester and are dropped with a warning
  (:mod:`.reference_block`), so the block can be copied verbatim.
- Today's OpenChoreo API clamps ``limit`` to 100: a larger ``chunkSize`` is capped.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from catalog_ingest.app.config.problems import ConfigProblem, format_location, render_at
from catalog_ingest.app.config.reference_block import reference_only
from catalog_ingest.app.config.schema import OPENCHOREO_PROVIDER, AppConfig, LocPart
from catalog_ingest.engine.redaction import Redactor, secret_values

NAMESPACE_ERA_MAX_LIMIT = 100


def config_warnings(data: Mapping[str, Any], config: AppConfig) -> list[ConfigProblem]:
    """Warnings about a valid configuration; ``data`` is its input as written."""
    redactor = Redactor(secret_values(data))
    block = data.get(OPENCHOREO_PROVIDER)
    found = _reference_only_keys(block, redactor) if isinstance(block, Mapping) else []
    return found + _capped_chunk_sizes(data, config)


def _reference_only_keys(block: Mapping[str, Any], redactor: Redactor) -> list[ConfigProblem]:
    warnings = []
    for key, value in block.items():
        message = reference_only(key)
        if message is not None:
            loc: tuple[LocPart, ...] = (OPENCHOREO_PROVIDER, key)
            rendered = redactor.hide_secrets(render_at(value, loc))
            warnings.append(ConfigProblem(format_location(loc), rendered, message))
    return warnings


def _capped_chunk_sizes(data: Mapping[str, Any], config: AppConfig) -> list[ConfigProblem]:
    """``chunkSize`` above 100 for an OpenChoreo provider that may speak the namespace era."""
    warnings = []
    raw_providers = data.get("providers")
    raw_list: Sequence[Any] = raw_providers if isinstance(raw_providers, list) else []
    for index, provider in enumerate(config.providers):
        settings = provider.settings
        generation = settings.get("api_generation", settings.get("apiGeneration"))
        if provider.type == "openchoreo" and generation != "orgs":
            raw = raw_list[index] if index < len(raw_list) else {}
            options = raw.get("options") if isinstance(raw, Mapping) else None
            warnings += _chunk_warning(("providers", index, "options"), options)
    block = config.openchoreo
    if block is not None and block.api_generation != "orgs":
        raw_block = data.get(OPENCHOREO_PROVIDER)
        options = raw_block.get("incremental") if isinstance(raw_block, Mapping) else None
        where: tuple[LocPart, ...] = (OPENCHOREO_PROVIDER, "incremental")
        warnings += _chunk_warning(where, options)
    return warnings


def _chunk_warning(where: tuple[LocPart, ...], options: Any) -> list[ConfigProblem]:
    if not isinstance(options, Mapping):
        return []
    for key in ("chunkSize", "chunk_size"):
        value = options.get(key)
        if isinstance(value, int) and value > NAMESPACE_ERA_MAX_LIMIT:
            message = (
                f"capped at {NAMESPACE_ERA_MAX_LIMIT} per request with the namespace-era API "
                f"(its server clamps limit to 1..{NAMESPACE_ERA_MAX_LIMIT})"
            )
            return [ConfigProblem(format_location((*where, key)), str(value), message)]
    return []

"""Aggregator-only sources as providers of the engine: ``file`` (entity files), ``url`` (the
same over HTTP, with conditional requests) and ``push`` (entities written by another system).

A file or url source is walked in pages like any provider, so its refreshes are passes: run by
the workers on beat's schedule under the source's lock and fence, swept with the mass-deletion
guards when complete, dropping nothing when interrupted. A push source never runs a pass.
"""

"""Application configuration: one YAML file, ``${VAR}`` expansion and environment overrides.

- :mod:`.schema`: what a valid configuration is (pydantic models, defaults).
- :mod:`.env_expansion`: ``${VAR}`` / ``${VAR:-default}`` / ``$${X}`` in the parsed file.
- :mod:`.loading`: :func:`~.loading.load_config` and :func:`~.loading.check_config`; the
  pydantic-settings sources (init kwargs > environment > the file) shared with the workers'
  settings.
- :mod:`.problems`: every mistake as one line, ``<location>: <value> - <message>``.
- :mod:`.warnings`: what a valid file sets in vain (keys of the official Backstage plugin's
  ``openchoreo:`` block that mean nothing here, :mod:`.reference_block`; a ``chunkSize`` the
  namespace-era API caps), rendered like problems; ``check-config`` prints them and exits 0.
"""

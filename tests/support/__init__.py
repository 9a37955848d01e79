"""Helpers shared by the tests (no tests here; the fixtures stay in the ``conftest.py`` files).

- ``databases``: a scratch PostgreSQL database per session (``scratch_postgres_database``),
  ``migrated_engine``, and ``truncate_all``, which empties every table of the models' metadata.
- ``cli_runner``: ``run_ingest``, the ``ingest`` command in a subprocess, as a user runs it.
- ``readme_commands``: the shell commands README.md shows (``readme_command``), with
  placeholders replaced (``substituted``), so tests run what a reader would paste.
- ``memory_probe``: a script, not a library: ``python -m tests.support.memory_probe`` runs
  the sweep memory probe in its own process for ``tests/test_sweep_memory.py``.
- ``engine_harness``: the engine tests' wiring: ``ScriptedProvider``, ``options``,
  ``build_engine``, tick loops (``tick_when_due``, ``run_until``, ``complete_pass``), catalog,
  source and mark reads, ``strip_stamps``/``expected_catalog``, ``RecordingRepository``.
- ``celery_deployment``: real Celery workers on Redis and PostgreSQL: ``fresh_redis_url``,
  ``deployment`` (a config file and its ``Deployment``), ``WorkerProcess``, ``wait_for``,
  ``DeploymentReader``.
- ``operator_commands``: ``ingest`` commands run against a deployment as an operator runs them
  (``admin_command``, ``run_ingest_commands``), README commands run by a shell, the worker's log
  lines, ticking until a condition, and Flower as a subprocess (``FlowerProcess``,
  ``running_flower``, ``wait_for_live_events``).
- ``simulator_harness``: the OpenChoreo simulator served over loopback HTTP (``running``), client
  helpers (``data``, ``error_code``, ``pages``, ``crawl``) and the contract's schema check.
- ``openchoreo_catalog``: the OpenChoreo provider on a simulator (``provider_for``) and the
  catalog a pass must store (``expected_catalog``) or did store (``stored_catalog``).
- ``backstage_model``: Backstage's published catalog-model schemas and naming rules
  (``problems``), to check translated entities as Backstage would.
- ``http_service``: the HTTP service on a real uvicorn server (``running_service``), one
  configured token per scope (``API_SECTION``, ``READ_TOKEN``...), ``bearer`` headers,
  ``free_port``, and ``envelope_of``, which checks Backstage's error envelope of an answer.
- ``log_capture``: ``captured_events``, the log events of a block (structlog and the engine's
  standard-library records) as dicts, in the order they were logged.
"""

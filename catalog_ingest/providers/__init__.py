"""Entity providers: ``synthetic`` (a generator for demos, tests and benchmarks) and
``openchoreo``. Each implements ``catalog_ingest.contracts.provider``."""

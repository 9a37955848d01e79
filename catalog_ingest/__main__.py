"""``python -m catalog_ingest`` is the ``ingest`` command."""

from catalog_ingest.cli import main

main()

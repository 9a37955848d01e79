"""``python -m cli`` is the ``ingest`` command."""

from cli.main import main

main()

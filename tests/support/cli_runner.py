"""Run the ``ingest`` command in a subprocess, as a user would."""

import os
import subprocess
import sys
from pathlib import Path


def run_ingest(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``ingest *args`` in a subprocess; ``input`` is written to its stdin (``None``: the
    stdin is inherited)."""
    environment = {**os.environ, **(env or {})}
    environment.pop("INGEST_CONFIG", None)
    environment.pop("INGEST_LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
        check=False,
    )

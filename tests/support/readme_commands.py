"""Shell commands as README.md shows them, so tests run what a reader would copy and paste."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
SHELL_BLOCK = re.compile(r"^```sh\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def readme_command(starting_with: str) -> str:
    """The one command of the README's ``sh`` blocks that starts with ``starting_with``.

    Continuation lines (ending in a backslash) belong to the command, as the shell reads them.
    """
    found = []
    for block in SHELL_BLOCK.finditer(README.read_text()):
        lines = block["body"].splitlines()
        for index, line in enumerate(lines):
            if not line.startswith(starting_with):
                continue
            end = index
            while lines[end].endswith("\\"):
                end += 1
            found.append("\n".join(lines[index : end + 1]))
    assert len(found) == 1, f"README.md shows {len(found)} commands starting {starting_with!r}"
    return found[0]


def substituted(command: str, replacements: dict[str, str]) -> str:
    """``command`` with each key replaced by its value; fails if the README lacks a key."""
    for old, new in replacements.items():
        assert old in command, f"{old!r} is not in the README's command {command!r}"
        command = command.replace(old, new)
    return command

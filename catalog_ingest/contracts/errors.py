"""The one error root: every exception this project raises derives from :class:`IngestError`.

The subclasses say who has to act, which is what callers branch on:

- :class:`UserError`: the person running a command or writing the configuration made a mistake.
  The command line prints one line and exits 2; the HTTP service answers 4xx.
- :class:`UpstreamError`: the upstream API failed or broke its contract; a burst backs off.
- :class:`StepStoppedError`: the running step lost its right to write (lock lost, fence moved,
  operator stop); it stops unwritten and another step carries on.
- :class:`ContractViolationError`: code broke a contract of this project (a provider returning
  a malformed page, an engine wired without what it needs): a bug to report, not to retry.
"""

from collections.abc import Sequence


class IngestError(Exception):
    """Root of every error raised by this project."""


class UserError(IngestError):
    """A mistake of whoever runs a command or wrote the configuration: one line, exit 2."""


class InvalidEventError(UserError, ValueError):
    """An event whose payload is not what its topic's handler accepts: rejected, not retried."""


class UnknownProviderError(UserError, LookupError):
    """A provider name that is not configured was asked for."""

    def __init__(self, name: str, known_names: Sequence[str]) -> None:
        self.name = name
        self.known_names: list[str] = list(known_names)
        known = ", ".join(self.known_names) if self.known_names else "(none configured)"
        super().__init__(f"unknown provider {name!r}; known providers: {known}")

    def __str__(self) -> str:
        return str(self.args[0])


class UpstreamError(IngestError):
    """The upstream API answered with an error, broke its contract or could not be reached."""


class StepStoppedError(IngestError):
    """The running ingestion step may not write any more; it stops and leaves the rest to the
    next step."""


class ContractViolationError(IngestError):
    """Code broke one of this project's contracts (provider protocol, engine wiring)."""

"""One error root: every exception class the project defines derives from ``IngestError`` and
is named ``...Error``; callers can catch the project's errors, or one kind of them, at once."""

import importlib
import inspect
import pkgutil

import pytest

from catalog_ingest.contracts.errors import IngestError, UnknownProviderError, UserError
from catalog_ingest.engine.state_table import Engine

PACKAGES = ("catalog_ingest", "models", "workers", "tasks", "cli")


def _project_exception_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        names = [package_name] + [
            info.name
            for info in pkgutil.walk_packages(package.__path__, f"{package_name}.")
            if not info.name.endswith("__main__")  # running it is the command line
        ]
        for name in names:
            module = importlib.import_module(name)
            for _, value in inspect.getmembers(module, inspect.isclass):
                if issubclass(value, BaseException) and value.__module__ == name:
                    found[f"{name}.{value.__qualname__}"] = value
    return list(found.values())


def test_the_walk_finds_the_project_errors_it_must_check() -> None:
    names = {error.__name__ for error in _project_exception_classes()}
    assert {"IngestError", "ConfigError", "FencedError", "UpstreamError", "ApiError"} <= names


@pytest.mark.parametrize("error", _project_exception_classes(), ids=lambda e: e.__qualname__)
def test_every_project_exception_derives_from_the_root_and_is_named_error(
    error: type[BaseException],
) -> None:
    assert issubclass(error, IngestError)
    assert error.__name__.endswith("Error")


def test_an_unknown_provider_is_one_user_error_whoever_looks_it_up() -> None:
    engine = Engine(repository=None, providers={})  # type: ignore[arg-type]
    with pytest.raises(UnknownProviderError) as raised:
        engine.binding("nope")
    assert isinstance(raised.value, UserError)
    assert str(raised.value) == "unknown provider 'nope'; known providers: (none configured)"

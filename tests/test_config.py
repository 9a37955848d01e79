"""Configuration loading: models, ``${ENV}`` expansion, overrides and problem reporting."""

import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from catalog_ingest.app.config.env_expansion import expand_env
from catalog_ingest.app.config.loading import check_config, check_config_report, load_config
from catalog_ingest.app.config.problems import ConfigError, ConfigProblem
from catalog_ingest.app.config.schema import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    AppConfig,
    OpenChoreoBlock,
    ProviderConfig,
)
from catalog_ingest.contracts.errors import UnknownProviderError, UserError
from catalog_ingest.engine.options import ProviderOptions
from catalog_ingest.providers.openchoreo.settings import OpenChoreoSettings

FIXTURES = Path(__file__).parent / "fixtures"
NO_ENV: dict[str, str] = {}


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    """The rendered problems of a config file (environment empty unless given)."""
    return [str(p) for p in check_config(write(tmp_path, text), environ or NO_ENV)]


def one_provider_with_options(options: str) -> str:
    return f"providers:\n  - name: synth\n    type: synthetic\n    options: {{{options}}}\n"


# --------------------------------------------------------------------------- valid files


def test_a_minimal_file_gets_defaults_for_everything_it_leaves_out(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, "providers:\n  - {name: synth, type: synthetic}\n"), NO_ENV
    )

    assert config.database_url == DEFAULT_DATABASE_URL
    assert config.redis_url == DEFAULT_REDIS_URL
    assert config.log_level == "INFO"
    assert config.openchoreo is None
    [provider] = config.all_providers()
    assert provider == ProviderConfig(name="synth", type="synthetic")
    assert provider.options == ProviderOptions()
    assert provider.settings == {}
    assert provider.priority == 0


def test_an_empty_file_is_an_empty_configuration(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, ""), NO_ENV) == AppConfig()


def test_without_a_path_or_INGEST_CONFIG_no_file_is_read() -> None:
    config = load_config(None, {"DATABASE_URL": "postgresql://db/ingest"})

    assert config == AppConfig(database_url="postgresql://db/ingest")


def test_without_a_path_the_file_named_by_INGEST_CONFIG_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "log_level: DEBUG\n")

    assert load_config(None, {"INGEST_CONFIG": str(path)}).log_level == "DEBUG"


def test_the_valid_fixture_has_no_problems() -> None:
    assert check_config(FIXTURES / "valid.yaml", NO_ENV) == []
    config = load_config(FIXTURES / "valid.yaml", NO_ENV)
    assert [p.name for p in config.all_providers()] == ["synthetic-small", "synthetic-large"]
    assert config.provider("synthetic-large").options.chunk_size == 200
    assert config.provider("synthetic-small").settings == {
        "entities": 1000,
        "page_size": 100,
        "seed": 1,
    }


def test_the_reference_openchoreo_block_is_accepted_verbatim() -> None:
    config = load_config(FIXTURES / "reference-openchoreo.yaml", NO_ENV)

    provider = config.provider("openchoreo")
    assert provider.type == "openchoreo"
    assert provider.options == ProviderOptions(
        burst_length=10,
        burst_interval=30,
        rest_length=30,
        chunk_size=50,
        backoff=(30, 60, 300, 1800),
        reject_removals_above_percentage=20,
        reject_empty_source_collections=True,
        max_concurrent_requests=5,
        batch_delay_ms=100,
    )
    assert provider.settings == {
        "base_url": "http://openchoreo-api.openchoreo-control-plane:8080/api/v1",
        "default_owner": "platform-team",
        "namespace_strategy": "organization",
    }


def test_the_openchoreo_block_reads_url_and_token_from_the_environment() -> None:
    environ = {"OPENCHOREO_API_URL": "https://choreo.example/api", "OPENCHOREO_TOKEN": "tok-123"}

    provider = load_config(FIXTURES / "reference-openchoreo.yaml", environ).provider("openchoreo")

    assert provider.settings["base_url"] == "https://choreo.example/api"
    assert provider.settings["token"] == "tok-123"


def test_the_openchoreo_block_defaults_owner_strategy_and_pacing(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "openchoreo: {baseUrl: 'https://oc.example'}\n"), NO_ENV)

    assert config.openchoreo == OpenChoreoBlock(base_url="https://oc.example")
    assert config.provider("openchoreo").settings == {"base_url": "https://oc.example"}
    settings = OpenChoreoSettings.model_validate(config.provider("openchoreo").settings)
    assert (settings.token, settings.default_owner, settings.namespace_strategy) == (
        None,
        None,  # the provider's default: openchoreo-users (namespace era), openchoreo (orgs)
        "default",
    )
    assert settings.api_generation == "auto"
    assert config.provider("openchoreo").options == ProviderOptions()


def test_the_official_plugins_block_is_accepted_and_its_other_keys_are_warnings() -> None:
    report = check_config_report(FIXTURES / "official-plugin-openchoreo.yaml", NO_ENV)

    assert report.problems == []
    assert [str(w) for w in report.warnings] == [
        "openchoreo.auth: {clientId: 'backstage', clientSecret: ***, tokenUrl: ***,... - ignored: "
        "OAuth2 client credentials are not supported here; give a bearer token in "
        "openchoreo.token",
        "openchoreo.portalAssistantUrl: '' - ignored: a setting of the portal assistant plugin",
        "openchoreo.schedule: {frequency: '30', timeout: 120} - ignored: passes are paced by "
        "openchoreo.incremental (burstLength, burstInterval, restLength)",
        "openchoreo.events: {enabled: 'true'} - ignored: events reach this ingester through "
        "`ingest event` (the ingest.event task)",
        "openchoreo.features: {workflows: {enabled: true}, observability: {enabled: true}} - "
        "ignored: feature flags of the Backstage UI",
    ]
    assert "client-secret-7d1e" not in repr(report)
    provider = load_config(FIXTURES / "official-plugin-openchoreo.yaml", NO_ENV).provider(
        "openchoreo"
    )
    assert provider.settings == {
        "base_url": "http://openchoreo-api.openchoreo-control-plane:8080/api/v1",
        "default_owner": "openchoreo-users",
    }


def test_a_key_of_the_openchoreo_block_unknown_to_both_is_still_a_problem(tmp_path: Path) -> None:
    text = "openchoreo: {baseUrl: 'https://oc.example', schedul: {frequency: 30}}\n"
    [problem] = problems_of(tmp_path, text)
    assert problem.startswith("openchoreo.schedul: {frequency: 30} - unknown key")


def test_a_chunk_size_above_100_is_a_warning_unless_the_provider_speaks_the_org_era(
    tmp_path: Path,
) -> None:
    text = """\
        openchoreo:
          baseUrl: https://oc.example
          incremental: {chunkSize: 500}
        providers:
          - {name: today, type: openchoreo, settings: {baseUrl: 'https://a.example',
             apiGeneration: namespaces}, options: {chunk_size: 200}}
          - {name: orgs, type: openchoreo, settings: {baseUrl: 'https://b.example',
             apiGeneration: orgs}, options: {chunkSize: 512}}
          - {name: small, type: openchoreo, settings: {baseUrl: 'https://c.example'},
             options: {chunkSize: 100}}
        """
    report = check_config_report(write(tmp_path, text), NO_ENV)
    capped = "capped at 100 per request with the namespace-era API (its server clamps limit "
    assert report.problems == []
    assert [str(w) for w in report.warnings] == [
        f"providers[0].options.chunk_size: 200 - {capped}to 1..100)",
        f"openchoreo.incremental.chunkSize: 500 - {capped}to 1..100)",
    ]


def test_snake_case_keys_mean_the_same_as_camel_case_keys(tmp_path: Path) -> None:
    camel = load_config(FIXTURES / "reference-openchoreo.yaml", NO_ENV)
    snake_file = """\
        openchoreo:
          base_url: http://openchoreo-api.openchoreo-control-plane:8080/api/v1
          default_owner: platform-team
          namespace_strategy: organization
          incremental:
            burst_length: 10
            burst_interval: 30
            rest_length: 30
            chunk_size: 50
            backoff: [30, 60, 300, 1800]
            reject_removals_above_percentage: 20
            reject_empty_source_collections: true
            max_concurrent_requests: 5
            batch_delay_ms: 100
        """

    snake = load_config(write(tmp_path, snake_file), NO_ENV)

    assert snake == camel


def test_top_level_keys_may_be_camel_case_too(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, "databaseUrl: postgresql://db/x\nredisUrl: redis://r/1\nlogLevel: ERROR\n"),
        NO_ENV,
    )

    assert (config.database_url, config.redis_url, config.log_level) == (
        "postgresql://db/x",
        "redis://r/1",
        "ERROR",
    )


def test_the_log_level_is_case_insensitive(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "log_level: warning\n"), NO_ENV).log_level == "WARNING"


def test_backoff_accepts_human_duration_objects(tmp_path: Path) -> None:
    text = one_provider_with_options("backoff: [{seconds: 30}, {minutes: 1}, {hours: 1}]")

    options = load_config(write(tmp_path, text), NO_ENV).provider("synth").options

    assert options.backoff == (30.0, 60.0, 3600.0)


def test_bursts_and_rest_accept_human_duration_objects(tmp_path: Path) -> None:
    text = one_provider_with_options(
        "burstLength: {seconds: 20}, burstInterval: {minutes: 1}, restLength: {hours: 2}"
    )

    options = load_config(write(tmp_path, text), NO_ENV).provider("synth").options

    assert (options.burst_length, options.burst_interval, options.rest_length) == (20, 60, 120)


def test_a_null_duration_amount_is_a_problem_at_its_key_not_a_crash(tmp_path: Path) -> None:
    text = one_provider_with_options("backoff: [{seconds: 30}, {minutes: null}]")

    assert problems_of(tmp_path, text) == [
        "providers[0].options.backoff[1].minutes: null - a duration amount must be a number, "
        "not null"
    ]


def test_providers_keep_their_settings_and_priority(tmp_path: Path) -> None:
    text = """\
        providers:
          - name: synth
            type: synthetic
            priority: 7
            settings: {entities: 1000, page_size: 100, seed: 1}
        """

    provider = load_config(write(tmp_path, text), NO_ENV).provider("synth")

    assert provider.priority == 7
    assert provider.settings == {"entities": 1000, "page_size": 100, "seed": 1}


# --------------------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("burst_length", "0", "Input should be greater than or equal to 1"),
        ("burst_length", "301", "Input should be less than or equal to 300"),
        ("burst_interval", "4", "Input should be greater than or equal to 5"),
        ("rest_length", "1441", "Input should be less than or equal to 1440"),
        ("chunk_size", "513", "Input should be less than or equal to 512"),
        ("max_concurrent_requests", "51", "Input should be less than or equal to 50"),
        ("batch_delay_ms", "10001", "Input should be less than or equal to 10000"),
        ("reject_removals_above_percentage", "101", "Input should be less than or equal to 100"),
        ("reject_removals_above_percentage", "-1", "Input should be greater than or equal to 0"),
    ],
)
def test_an_option_out_of_range_is_one_problem_naming_the_bound(
    tmp_path: Path, key: str, value: str, message: str
) -> None:
    problems = problems_of(tmp_path, one_provider_with_options(f"{key}: {value}"))

    assert problems == [f"providers[0].options.{key}: {value} - {message}"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("burst_length", 1),
        ("burst_length", 300),
        ("burst_interval", 5),
        ("rest_length", 1440),
        ("chunk_size", 512),
        ("max_concurrent_requests", 50),
        ("batch_delay_ms", 10000),
        ("reject_removals_above_percentage", 0),
        ("reject_removals_above_percentage", 100),
    ],
)
def test_an_option_on_its_bound_is_accepted(tmp_path: Path, key: str, value: int) -> None:
    path = write(tmp_path, one_provider_with_options(f"{key}: {value}"))

    options = load_config(path, NO_ENV).provider("synth").options

    assert getattr(options, key) == value


def test_a_problem_in_the_openchoreo_block_is_located_with_its_camel_case_key(
    tmp_path: Path,
) -> None:
    text = "openchoreo:\n  baseUrl: https://oc.example\n  incremental: {restLength: 1441}\n"

    assert problems_of(tmp_path, text) == [
        "openchoreo.incremental.restLength: 1441 - Input should be less than or equal to 1440"
    ]


# --------------------------------------------------------------------------- other problems


def test_an_unknown_key_is_reported_with_its_path_and_the_allowed_keys(tmp_path: Path) -> None:
    [problem] = check_config(write(tmp_path, one_provider_with_options("burstLenght: 5")), NO_ENV)

    assert problem.location == "providers[0].options.burstLenght"
    assert problem.value == "5"
    assert problem.message.startswith("unknown key (did you mean 'burstLength'?); allowed: ")
    assert "chunkSize" in problem.message


def test_an_unknown_top_level_key_is_reported(tmp_path: Path) -> None:
    [problem] = check_config(write(tmp_path, "databse_url: x\n"), NO_ENV)

    assert (problem.location, problem.value) == ("databse_url", "'x'")
    assert "did you mean 'database_url'?" in problem.message


def test_several_problems_are_all_reported_at_once(tmp_path: Path) -> None:
    text = """\
        log_level: LOUD
        providers:
          - name: Bad_Name
            type: synthetic
            options: {chunk_size: 0}
          - type: nope
        """

    locations = [p.location for p in check_config(write(tmp_path, text), NO_ENV)]

    assert locations == [
        "providers[0].name",
        "providers[0].options.chunk_size",
        "providers[1].name",
        "providers[1].type",
        "log_level",
    ]


def test_a_missing_required_key_shows_missing_as_its_value(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "openchoreo: {token: abc}\n") == [
        "openchoreo.baseUrl: (missing) - Field required"
    ]


def test_a_base_url_must_be_http_or_https(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "openchoreo: {baseUrl: 'ftp://oc.example'}\n") == [
        "openchoreo.baseUrl: 'ftp://oc.example' - must be an http:// or https:// URL with a host"
    ]


@pytest.mark.parametrize("name", ["Synth", "-synth", "synth-", "a--b", "x" * 64, ""])
def test_a_provider_name_must_be_a_short_lowercase_slug(tmp_path: Path, name: str) -> None:
    [problem] = check_config(
        write(tmp_path, f"providers: [{{name: '{name}', type: synthetic}}]\n"), NO_ENV
    )

    assert problem.location == "providers[0].name"


def test_the_invalid_fixture_has_the_problems_its_comment_documents() -> None:
    problems = check_config(FIXTURES / "invalid.yaml", NO_ENV)
    documented = [
        line.split(". ", 1)[1]
        for line in (FIXTURES / "invalid.yaml").read_text().splitlines()
        if line.startswith("#   ")
    ]

    assert len(problems) == len(documented) >= 3
    for problem, expected in zip(problems, documented, strict=True):
        assert str(problem).startswith(expected.removesuffix("..."))


def test_a_problem_renders_as_one_line() -> None:
    problem = ConfigProblem("providers[0].options.chunkSize", "513", "too big")

    assert str(problem) == "providers[0].options.chunkSize: 513 - too big"


def test_a_config_error_lists_every_problem_in_its_message() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(FIXTURES / "invalid.yaml", NO_ENV)

    text = str(raised.value)
    assert text.startswith("invalid configuration (5 problems):")
    assert all(str(problem) in text for problem in raised.value.problems)


# --------------------------------------------------------------------------- duplicates


def test_two_providers_with_the_same_name_are_rejected(tmp_path: Path) -> None:
    text = "providers:\n  - {name: a, type: synthetic}\n  - {name: a, type: synthetic}\n"

    assert problems_of(tmp_path, text) == [
        "providers: 'a' - provider names must be unique: 'a' is used by providers[0] and "
        "providers[1]"
    ]


def test_a_provider_named_openchoreo_collides_with_the_openchoreo_block(tmp_path: Path) -> None:
    text = """\
        providers: [{name: openchoreo, type: openchoreo}]
        openchoreo: {baseUrl: 'https://oc.example', token: s3cr3t-t0ken}
        """

    problems = problems_of(tmp_path, text)

    assert problems == [
        "providers: 'openchoreo' - provider names must be unique: 'openchoreo' is used by "
        "providers[0] and the openchoreo block"
    ]


def test_duplicate_names_are_reported_alongside_other_problems(tmp_path: Path) -> None:
    text = """\
        providers:
          - {name: a, type: synthetic, options: {chunk_size: 0}}
          - {name: a, type: synthetic}
        """

    locations = [p.location for p in check_config(write(tmp_path, text), NO_ENV)]

    assert locations == ["providers[0].options.chunk_size", "providers"]


def test_building_an_app_config_in_code_also_rejects_duplicate_names() -> None:
    with pytest.raises(ValidationError, match="provider names must be unique"):
        AppConfig(
            providers=[ProviderConfig(name="openchoreo", type="synthetic")],
            openchoreo=OpenChoreoBlock(base_url="https://oc.example"),
        )


# --------------------------------------------------------------------------- lookups


def test_all_providers_lists_the_openchoreo_block_after_the_providers(tmp_path: Path) -> None:
    text = """\
        providers: [{name: b, type: synthetic}, {name: a, type: synthetic}]
        openchoreo: {baseUrl: 'https://oc.example'}
        """

    config = load_config(write(tmp_path, text), NO_ENV)

    assert [p.name for p in config.all_providers()] == ["b", "a", "openchoreo"]


def test_an_unknown_provider_name_lists_the_known_names(tmp_path: Path) -> None:
    config = load_config(FIXTURES / "valid.yaml", NO_ENV)

    with pytest.raises(UnknownProviderError) as raised:
        config.provider("nope")

    assert isinstance(raised.value, UserError)
    assert raised.value.name == "nope"
    assert raised.value.known_names == ["synthetic-small", "synthetic-large"]
    assert str(raised.value) == (
        "unknown provider 'nope'; known providers: synthetic-small, synthetic-large"
    )


def test_an_unknown_provider_with_nothing_configured_says_so() -> None:
    with pytest.raises(UnknownProviderError, match=r"known providers: \(none configured\)"):
        AppConfig().provider("synth")


# --------------------------------------------------------------------------- environment


def test_variables_are_expanded_with_and_without_defaults(tmp_path: Path) -> None:
    text = """\
        database_url: postgresql://${DB_HOST}/${DB_NAME:-ingest}
        openchoreo:
          baseUrl: ${OC_URL:-https://fallback.example}
          incremental: {chunkSize: '${CHUNK:-64}'}
        """

    config = load_config(write(tmp_path, text), {"DB_HOST": "db.internal", "CHUNK": ""})

    assert config.database_url == "postgresql://db.internal/ingest"
    assert config.provider("openchoreo").settings["base_url"] == "https://fallback.example"
    assert config.provider("openchoreo").options.chunk_size == 64


def test_a_missing_variable_without_default_is_a_problem(tmp_path: Path) -> None:
    text = "openchoreo:\n  baseUrl: ${OC_URL}\n"

    assert problems_of(tmp_path, text) == [
        "openchoreo.baseUrl: '${OC_URL}' - environment variable OC_URL is not set and has no "
        "default (write ${OC_URL:-default} to give one)"
    ]


def test_expand_env_walks_nested_values_and_leaves_other_types_alone() -> None:
    value = {"a": ["${X}", 3, None, {"b": "$${X} costs $5"}], "${X}": True}

    expanded, problems = expand_env(value, {"X": "ex"})

    assert expanded == {"a": ["ex", 3, None, {"b": "${X} costs $5"}], "${X}": True}
    assert problems == []


def test_expand_env_reports_every_missing_variable_with_its_location() -> None:
    expanded, problems = expand_env({"p": [{"url": "${A}:${B:-b}:${C}"}]}, {})

    assert expanded == {"p": [{"url": ":b:"}]}
    assert [(p.location, p.message.split(" is ")[0]) for p in problems] == [
        ("p[0].url", "environment variable A"),
        ("p[0].url", "environment variable C"),
    ]


def test_expand_env_reports_a_malformed_reference() -> None:
    _, [problem] = expand_env({"url": "${NOT VALID}"}, {})

    assert problem.location == "url"
    assert problem.message.startswith("malformed variable reference")


def test_database_and_redis_urls_from_the_environment_override_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "database_url: sqlite:///file.db\nredisUrl: redis://file/0\n")
    environ = {"DATABASE_URL": "postgresql://env/ingest", "REDIS_URL": "redis://env/1"}

    config = load_config(path, environ)

    assert (config.database_url, config.redis_url) == ("postgresql://env/ingest", "redis://env/1")


def test_the_log_level_from_the_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "log_level: ERROR\n")

    assert load_config(path, {"INGEST_LOG_LEVEL": "debug"}).log_level == "DEBUG"


def test_an_empty_override_variable_is_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "database_url: sqlite:///file.db\n")

    assert load_config(path, {"DATABASE_URL": ""}).database_url == "sqlite:///file.db"


def test_an_invalid_override_names_the_environment_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "log_level: INFO\n")

    assert [str(p) for p in check_config(path, {"INGEST_LOG_LEVEL": "chatty"})] == [
        "log_level (from $INGEST_LOG_LEVEL): 'chatty' - Input should be 'DEBUG', 'INFO', "
        "'WARNING' or 'ERROR'"
    ]


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize("token", ["[s3cr3t-t0ken]", "{value: s3cr3t-t0ken}", "123456789"])
def test_an_invalid_token_value_is_never_shown(tmp_path: Path, token: str) -> None:
    text = f"openchoreo: {{baseUrl: 'https://oc.example', token: {token}}}\n"

    problems = problems_of(tmp_path, text)

    assert problems == ["openchoreo.token: *** - Input should be a valid string"]
    assert token.strip("[]{}").removeprefix("value: ") not in problems[0]


def test_an_unknown_secret_looking_key_has_its_value_masked(tmp_path: Path) -> None:
    text = "openchoreo: {baseUrl: 'https://oc.example', apiToken: s3cr3t-t0ken}\n"

    [problem] = problems_of(tmp_path, text)

    assert problem.startswith("openchoreo.apiToken: *** - unknown key")
    assert "s3cr3t" not in problem


def test_secrets_inside_a_rendered_mapping_are_masked(tmp_path: Path) -> None:
    text = "providers: {name: a, settings: {password: hunter2-pw}}\n"

    [problem] = problems_of(tmp_path, text)

    assert problem == (
        "providers: {name: 'a', settings: {password: ***}} - Input should be a valid list"
    )


def test_a_token_from_the_environment_is_never_shown(tmp_path: Path) -> None:
    text = """\
        providers: [{name: openchoreo, type: openchoreo, settings: {token: '${OC_TOKEN}'}}]
        openchoreo: {baseUrl: 'https://oc.example', token: '${OC_TOKEN}'}
        """

    problems = problems_of(tmp_path, text, {"OC_TOKEN": "env-s3cr3t"})

    assert len(problems) == 2
    assert problems[0].startswith("providers[0].settings.baseUrl: {token: ***} - Field required")
    assert "must be unique" in problems[1]
    assert not any("env-s3cr3t" in problem for problem in problems)


def test_a_missing_variable_in_a_token_does_not_show_the_rest_of_the_value(
    tmp_path: Path,
) -> None:
    text = "openchoreo: {baseUrl: 'https://oc.example', token: 'literal-part-${OC_TOKEN}'}\n"

    [problem] = problems_of(tmp_path, text)

    assert problem.startswith("openchoreo.token: *** - environment variable OC_TOKEN is not set")
    assert "literal-part" not in problem


def test_a_password_in_a_url_is_masked_when_the_url_is_shown(tmp_path: Path) -> None:
    text = "openchoreo: {baseUrl: 'ftp://user:pa55word@oc.example'}\n"

    [problem] = problems_of(tmp_path, text)

    assert problem.startswith("openchoreo.baseUrl: 'ftp://user:***@oc.example' - ")


def test_secrets_lists_every_configured_secret_once(tmp_path: Path) -> None:
    """Provider settings are validated (no free-form keys): what a secret-looking key holds at
    any depth is the redaction module's test (test_redaction.py)."""
    text = """\
        database_url: postgresql://ingest:db-pw@db/ingest
        redis_url: redis://:redis-pw@redis:6379/0
        providers:
          - name: a
            type: openchoreo
            settings: {baseUrl: 'https://oc.example', token: tok-a}
          - name: b
            type: openchoreo
            settings: {baseUrl: 'https://user:url-pw@oc.example', token: tok-a}
          - name: c
            type: synthetic
            settings: {seed: 1}
        openchoreo: {baseUrl: 'https://oc.example', token: oc-token}
        worker: {brokerUrl: 'redis://:broker-pw@broker:6379/1'}
        """

    config = load_config(write(tmp_path, text), NO_ENV)

    assert sorted(config.secrets()) == sorted(
        ["oc-token", "tok-a", "url-pw", "db-pw", "redis-pw", "broker-pw"]
    )


def test_a_configuration_without_secrets_has_none() -> None:
    assert load_config(FIXTURES / "valid.yaml", NO_ENV).secrets() == []


# --------------------------------------------------------------------------- file problems


def test_a_missing_file_is_one_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"

    with pytest.raises(ConfigError) as raised:
        load_config(path, NO_ENV)

    assert raised.value.problems == [ConfigProblem(str(path), "(missing)", "config file not found")]


def test_a_missing_file_named_by_INGEST_CONFIG_is_a_problem_too(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"

    [problem] = check_config(None, {"INGEST_CONFIG": str(path)})

    assert problem.location == str(path)


def test_a_directory_is_an_unreadable_file(tmp_path: Path) -> None:
    [problem] = check_config(tmp_path, NO_ENV)

    assert problem.location == str(tmp_path)
    assert problem.message.startswith("cannot read config file")


def test_a_yaml_syntax_error_is_one_problem_with_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  - name: a\n    type: [synthetic\n")

    [problem] = check_config(path, NO_ENV)

    assert problem.location.startswith(f"{path}:")
    line, column = problem.location.removeprefix(f"{path}:").split(":")
    assert (int(line), int(column)) == (4, 1)
    assert problem.message.startswith("invalid YAML: ")


def test_a_file_that_is_not_a_mapping_is_one_problem(tmp_path: Path) -> None:
    [problem] = check_config(write(tmp_path, "- just\n- a list\n"), NO_ENV)

    assert str(problem) == (
        f"{tmp_path / 'config.yaml'}: ['just', 'a list'] - the top level must be a mapping of "
        "keys to values, not a list"
    )


def test_a_file_that_is_not_utf8_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"log_level: \xff\n")

    [problem] = check_config(path, NO_ENV)

    assert problem.message.startswith("config file is not UTF-8 text")


def test_load_config_accepts_a_string_path() -> None:
    assert load_config(str(FIXTURES / "valid.yaml"), NO_ENV) == load_config(
        FIXTURES / "valid.yaml", NO_ENV
    )


def test_the_example_configuration_is_valid() -> None:
    example = Path(__file__).parent.parent / "ingest.example.yaml"
    assert check_config(example, {}) == []
    config = load_config(example, {})
    assert [p.name for p in config.all_providers()] == ["synthetic", "openchoreo"]


def test_an_openchoreo_provider_in_the_list_has_its_settings_checked(tmp_path: Path) -> None:
    text = """\
        providers:
          - name: oc
            type: openchoreo
            settings: {baseUrl: 'https://oc.example/api/v1', namespaceStrategy: per-team}
        """
    [problem] = problems_of(tmp_path, text, {})
    assert problem.startswith("providers[0].settings.namespaceStrategy: 'per-team' - ")
    assert "'default' or 'organization'" in problem

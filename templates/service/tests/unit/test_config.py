from pathlib import Path

import pytest

from service.config import (
    DEFAULT_PORT,
    DEFAULT_SERVICE_NAME,
    DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
    ConfigError,
    Settings,
)


def test_defaults_apply_to_an_empty_environment() -> None:
    settings = Settings.from_env({})

    assert settings == Settings(
        service_name=DEFAULT_SERVICE_NAME,
        port=DEFAULT_PORT,
        log_level="INFO",
        shutdown_timeout_seconds=DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
        appinsights_connection_string=None,
    )


def test_environment_overrides_every_default() -> None:
    settings = Settings.from_env(
        {
            "SERVICE_NAME": "orders",
            "PORT": "9000",
            "LOG_LEVEL": "debug",
            "SHUTDOWN_TIMEOUT_SECONDS": "5",
            "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=abc",
        }
    )

    assert settings == Settings(
        service_name="orders",
        port=9000,
        log_level="DEBUG",
        shutdown_timeout_seconds=5,
        appinsights_connection_string="InstrumentationKey=abc",
    )


@pytest.mark.parametrize("name", ["SERVICE_NAME", "PORT", "LOG_LEVEL", "SHUTDOWN_TIMEOUT_SECONDS"])
def test_blank_values_fall_back_to_defaults(name: str) -> None:
    assert Settings.from_env({name: "  "}) == Settings()


def test_blank_connection_string_disables_telemetry() -> None:
    settings = Settings.from_env({"APPLICATIONINSIGHTS_CONNECTION_STRING": " "})

    assert settings.appinsights_connection_string is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "http", "PORT must be an integer"),
        ("PORT", "0", "PORT must be between 1 and 65535"),
        ("PORT", "65536", "PORT must be between 1 and 65535"),
        ("LOG_LEVEL", "verbose", "LOG_LEVEL must be one of"),
        ("SHUTDOWN_TIMEOUT_SECONDS", "soon", "must be a whole number of seconds"),
        ("SHUTDOWN_TIMEOUT_SECONDS", "2.5", "must be a whole number of seconds"),
        ("SHUTDOWN_TIMEOUT_SECONDS", "-1", "must not be negative"),
    ],
)
def test_invalid_values_are_rejected_with_the_variable_name(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({name: value})


def test_connection_string_from_a_mounted_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "connection-string"
    secret.write_text("InstrumentationKey=from-file\n", encoding="utf-8")
    settings = Settings.from_env({"APPLICATIONINSIGHTS_CONNECTION_STRING_FILE": str(secret)})
    assert settings.appinsights_connection_string == "InstrumentationKey=from-file"


def test_the_variable_wins_over_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "connection-string"
    secret.write_text("InstrumentationKey=from-file", encoding="utf-8")
    settings = Settings.from_env(
        {
            "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=from-env",
            "APPLICATIONINSIGHTS_CONNECTION_STRING_FILE": str(secret),
        }
    )
    assert settings.appinsights_connection_string == "InstrumentationKey=from-env"


def test_a_missing_secret_file_means_no_telemetry(tmp_path: Path) -> None:
    absent = str(tmp_path / "absent")
    settings = Settings.from_env({"APPLICATIONINSIGHTS_CONNECTION_STRING_FILE": absent})
    assert settings.appinsights_connection_string is None


def test_an_unreadable_secret_file_is_a_configuration_error_naming_the_path(tmp_path: Path) -> None:
    # A directory stands in for a file the process may not read: both raise an OSError other
    # than not-found, also for root, which ignores permission bits.
    unreadable = tmp_path / "connection-string"
    unreadable.mkdir()
    with pytest.raises(ConfigError, match=f"{unreadable}.*cannot be read"):
        Settings.from_env({"APPLICATIONINSIGHTS_CONNECTION_STRING_FILE": str(unreadable)})


def test_telemetry_signs_in_with_entra_id_only_when_asked() -> None:
    assert Settings.from_env({}).telemetry_entra_auth is False
    assert Settings.from_env({"TELEMETRY_AUTHENTICATION": "key"}).telemetry_entra_auth is False
    assert Settings.from_env({"TELEMETRY_AUTHENTICATION": "Entra"}).telemetry_entra_auth is True
    with pytest.raises(ConfigError, match="TELEMETRY_AUTHENTICATION must be 'key' or 'entra'"):
        Settings.from_env({"TELEMETRY_AUTHENTICATION": "aad"})


def test_an_unreadable_workload_identity_token_stops_the_start(tmp_path: Path) -> None:
    token = tmp_path / "azure-identity-token"
    token.write_text("eyJ")
    environ = {"TELEMETRY_AUTHENTICATION": "entra", "AZURE_FEDERATED_TOKEN_FILE": str(token)}
    assert Settings.from_env(environ).telemetry_entra_auth is True
    missing = {**environ, "AZURE_FEDERATED_TOKEN_FILE": str(tmp_path / "absent")}
    with pytest.raises(ConfigError, match=r"AZURE_FEDERATED_TOKEN_FILE '.*absent' cannot be read"):
        Settings.from_env(missing)
    # Keys never read the token, whatever the pod carries.
    keys = {**missing, "TELEMETRY_AUTHENTICATION": "key"}
    assert Settings.from_env(keys).telemetry_entra_auth is False

"""Settings read from the environment, the way Kubernetes hands them to the container."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Self

DEFAULT_PORT = 8080
DEFAULT_SERVICE_NAME = "service"
# Below Kubernetes' default 30 s terminationGracePeriodSeconds, so in-flight requests
# finish and telemetry is flushed before the kubelet resorts to SIGKILL.
DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 20
_LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})
_MAX_PORT = 65535


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot run with."""


@dataclass(frozen=True, slots=True)
class _WholeNumber:
    """A variable holding an integer, `default` when blank: `unit` words what `int` accepts and
    `rule` what `valid` does, for the message that refuses the value."""

    name: str
    default: int
    unit: str
    valid: Callable[[int], bool]
    rule: str

    def read(self, environ: Mapping[str, str]) -> int:
        raw = environ.get(self.name, "")
        if not raw.strip():
            return self.default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{self.name} must be {self.unit}, got {raw!r}") from None
        if not self.valid(value):
            raise ConfigError(f"{self.name} must {self.rule}, got {value}")
        return value


_PORT = _WholeNumber(
    "PORT",
    DEFAULT_PORT,
    unit="an integer",
    valid=lambda port: 1 <= port <= _MAX_PORT,
    rule=f"be between 1 and {_MAX_PORT}",
)
_SHUTDOWN_TIMEOUT = _WholeNumber(
    "SHUTDOWN_TIMEOUT_SECONDS",
    DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
    unit="a whole number of seconds",
    valid=lambda seconds: seconds >= 0,
    rule="not be negative",
)


@dataclass(frozen=True, slots=True)
class Settings:
    service_name: str = DEFAULT_SERVICE_NAME
    port: int = DEFAULT_PORT
    log_level: str = "INFO"
    shutdown_timeout_seconds: int = DEFAULT_SHUTDOWN_TIMEOUT_SECONDS
    # None disables telemetry: developers and unit tests have no Application Insights resource.
    appinsights_connection_string: str | None = None
    # Sign telemetry in with Microsoft Entra ID rather than the connection string's key: set
    # (TELEMETRY_AUTHENTICATION=entra) where Application Insights refuses keys, i.e. in the pods
    # (workload identity) and in CI's integration tests (the pipeline's Azure CLI session).
    telemetry_entra_auth: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Self:
        return cls(
            service_name=environ.get("SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME,
            port=_PORT.read(environ),
            log_level=_parse_log_level(environ.get("LOG_LEVEL", "")),
            shutdown_timeout_seconds=_SHUTDOWN_TIMEOUT.read(environ),
            appinsights_connection_string=_connection_string(environ),
            telemetry_entra_auth=_telemetry_entra_auth(environ),
        )


def _connection_string(environ: Mapping[str, str]) -> str | None:
    """The variable wins (CI's integration tests); in Kubernetes the secret arrives as a file,
    which keeps it out of the pod spec and `kubectl describe`."""
    value = environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "").strip()
    path = environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING_FILE", "").strip()
    if value or not path:
        return value or None
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        # The secret volume is optional: a namespace without it runs without telemetry.
        return None
    except OSError as error:
        # Present but unreadable (permissions, a directory): a deployment mistake, not to run past.
        raise ConfigError(
            f"APPLICATIONINSIGHTS_CONNECTION_STRING_FILE {path!r} cannot be read: {error.strerror} "
            "(a mounted secret is readable by the pod's fsGroup; check the pod securityContext)"
        ) from None


def _telemetry_entra_auth(environ: Mapping[str, str]) -> bool:
    raw = environ.get("TELEMETRY_AUTHENTICATION", "")
    value = raw.strip().lower()
    if value not in {"", "key", "entra"}:
        raise ConfigError(f"TELEMETRY_AUTHENTICATION must be 'key' or 'entra', got {raw!r}")
    # In a pod the workload identity webhook names the projected token; a token the process
    # cannot read would only surface as telemetry that never arrives, so refuse to start.
    token = environ.get("AZURE_FEDERATED_TOKEN_FILE", "").strip()
    if value == "entra" and token:
        try:
            with Path(token).open("rb"):
                pass
        except OSError as error:
            raise ConfigError(
                f"AZURE_FEDERATED_TOKEN_FILE {token!r} cannot be read: {error.strerror} "
                "(the kubelet gives a projected token to the pod's runAsUser; "
                "check the pod securityContext)"
            ) from None
    return value == "entra"


def _parse_log_level(raw: str) -> str:
    level = raw.strip().upper() or "INFO"
    if level not in _LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {sorted(_LOG_LEVELS)}, got {raw!r}")
    return level

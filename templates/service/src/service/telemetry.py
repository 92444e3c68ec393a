"""Application Insights telemetry through Microsoft's Azure Monitor OpenTelemetry distro."""

import logging

from azure.core.credentials import TokenCredential
from azure.identity import DefaultAzureCredential
from azure.monitor.opentelemetry import configure_azure_monitor
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource

from service import __version__
from service.config import Settings

logger = logging.getLogger(__name__)


def telemetry_credential(settings: Settings) -> TokenCredential | None:
    """Microsoft Entra ID sign-in where the settings ask for it, else the connection string's key.

    DefaultAzureCredential finds the workload identity the AKS webhook injects into the pod
    (AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE) and, in CI, the Azure CLI's session.
    """
    if not settings.telemetry_entra_auth:
        return None
    return DefaultAzureCredential(exclude_interactive_browser_credential=True)


def configure_telemetry(settings: Settings) -> bool:
    """Export traces, metrics and this package's logs when a connection string is configured.

    Returns whether telemetry is enabled. The distro installs process-wide OpenTelemetry
    providers, so this runs once, before the app serves its first request.
    """
    if settings.appinsights_connection_string is None:
        logger.info("telemetry disabled: APPLICATIONINSIGHTS_CONNECTION_STRING is not set")
        return False
    configure_azure_monitor(
        connection_string=settings.appinsights_connection_string,
        credential=telemetry_credential(settings),
        # service.name becomes the cloud role name that Application Map groups by.
        resource=Resource.create(
            {SERVICE_NAME: settings.service_name, SERVICE_VERSION: __version__}
        ),
        # Only the service's own logs: uvicorn's access log would duplicate request telemetry,
        # and every log line already reaches Log Analytics from stdout.
        logger_name=__package__,
    )
    logger.info("telemetry enabled: exporting to Application Insights")
    return True

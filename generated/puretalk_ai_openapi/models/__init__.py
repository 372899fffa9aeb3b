"""Contains all the data models used in inputs/outputs"""

from .error import Error
from .integration import Integration
from .integration_data import IntegrationData
from .update_integration_body import UpdateIntegrationBody
from .update_integration_body_data import UpdateIntegrationBodyData
from .update_integration_response import UpdateIntegrationResponse

__all__ = (
    "Error",
    "Integration",
    "IntegrationData",
    "UpdateIntegrationBody",
    "UpdateIntegrationBodyData",
    "UpdateIntegrationResponse",
)

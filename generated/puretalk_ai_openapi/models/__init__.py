"""Contains all the data models used in inputs/outputs"""

from .error import Error
from .integration import Integration
from .integration_data import IntegrationData
from .integration_response import IntegrationResponse
from .update_integration_body import UpdateIntegrationBody
from .update_integration_body_data import UpdateIntegrationBodyData

__all__ = (
    "Error",
    "Integration",
    "IntegrationData",
    "IntegrationResponse",
    "UpdateIntegrationBody",
    "UpdateIntegrationBodyData",
)

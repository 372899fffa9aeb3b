"""Python SDK for the Puretalk AI REST API.

```python
from puretalk_ai import Puretalk

with Puretalk() as client:  # PURETALK_API_KEY, PURETALK_BASE_URL from the environment
    client.integrations.update("6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b", api_key="new-key")
```
"""

from puretalk_ai_openapi.models import Integration, IntegrationData
from puretalk_ai_openapi.types import UNSET, Unset

from ._bulk import UpdateNotOk, UpdateOk, UpdateResult, UpdateState
from ._client import AsyncPuretalk, Puretalk
from ._config import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    NotGiven,
)
from ._exceptions import (
    APIConnectionError,
    APIReportedError,
    APIResponseError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    PuretalkError,
    RateLimitError,
    UnexpectedError,
    UnprocessableEntityError,
)
from ._logs import setup_logging_from_env as _setup_logging_from_env
from ._redaction import RedactingFilter
from ._response import RawResponse
from ._retry import RetryPolicy
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "UNSET",
    "APIConnectionError",
    "APIReportedError",
    "APIResponseError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPuretalk",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "Integration",
    "IntegrationData",
    "InternalServerError",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "Puretalk",
    "PuretalkError",
    "RateLimitError",
    "RawResponse",
    "RedactingFilter",
    "RetryPolicy",
    "UnexpectedError",
    "UnprocessableEntityError",
    "Unset",
    "UpdateNotOk",
    "UpdateOk",
    "UpdateResult",
    "UpdateState",
    "__version__",
]

_setup_logging_from_env()

"""Contains some shared types for properties"""

import re
from collections.abc import Iterator, Mapping, MutableMapping
from http import HTTPStatus
from typing import IO, BinaryIO, Generic, Literal, TypeVar

from attrs import define


class Unset:
    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Unset = Unset()

# The types that `httpx.Client(files=)` can accept, copied from that library.
FileContent = IO[bytes] | bytes | str
FileTypes = (
    # (filename, file (or bytes), content_type)
    tuple[str | None, FileContent, str | None]
    # (filename, file (or bytes), content_type, headers)
    | tuple[str | None, FileContent, str | None, Mapping[str, str]]
)
RequestFiles = list[tuple[str, FileTypes]]


@define
class File:
    """Contains information for file uploads"""

    payload: BinaryIO
    file_name: str | None = None
    mime_type: str | None = None

    def to_tuple(self) -> FileTypes:
        """Return a tuple representation that httpx will accept for multipart/form-data"""
        return self.file_name, self.payload, self.mime_type


T = TypeVar("T")


@define
class Response(Generic[T]):
    """A response from an endpoint"""

    status_code: HTTPStatus
    content: bytes
    headers: MutableMapping[str, str]
    parsed: T | None


__all__ = ["UNSET", "File", "FileTypes", "RequestFiles", "Response", "Unset"]


# --- puretalk-ai: masked reprs (openapi/templates; see the README, "Secrets") -----------
# A field whose name says it holds a secret never shows its value in a repr, so a model
# printed, logged or captured by an error tracker carries no key. Decided here, when the
# client is generated: importing the wrapper patches nothing.

_SECRET_WORDS = (
    "apikey",
    "api_key",
    "key",
    "secret",
    "token",
    "password",
    "credential",
    "credentials",
)
_MAX_DEPTH = 64


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def is_secret_name(name: str) -> bool:
    """True for names whose values must not be shown, in any spelling: ``api_key``,
    ``apiKey``, ``X-API-KEY``, ``accessToken``, ``client-secret``, ``privateKey``, ...

    One normalising rule: camelCase and kebab-case become snake_case, an ``x_`` prefix
    goes, then the name must be, or end with ``_`` and, one of the secret words.
    """
    snake = _CAMEL.sub("_", name).replace("-", "_").lower()
    snake = snake.removeprefix("x_")
    return any(snake == word or snake.endswith("_" + word) for word in _SECRET_WORDS)


def _masked(value: object) -> object:
    """A secret-named field's value as shown: '***' for any value that is set."""
    return value if value is None or isinstance(value, Unset) else "***"


class _Deeper:
    """Stands for what lies deeper than _MAX_DEPTH levels."""

    def __repr__(self) -> str:
        return "..."


def _masked_extras(value: object, depth: int = 0) -> object:
    """Fields off the spec as shown: a copy with secret-named ones masked at any depth."""
    if depth > _MAX_DEPTH:
        return _Deeper()
    if isinstance(value, Mapping):
        return {
            k: _masked(v) if is_secret_name(str(k)) else _masked_extras(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_masked_extras(v, depth + 1) for v in value]
    return value


def masked_repr(value: object) -> str:
    """The repr of a secret-named field: '***' for any value that is set."""
    return repr(_masked(value))


def masked_extras_repr(value: object) -> str:
    """The repr of fields off the spec, with secret-named ones masked at any depth."""
    return repr(_masked_extras(value))


def rich_fields(obj: object) -> Iterator[tuple[str, object]]:
    """A model's fields for rich's pretty printer (``__rich_repr__``), masked as its repr is:
    rich reads attrs fields itself and would otherwise print every value raw."""
    import attrs

    for field in attrs.fields(type(obj)):  # type: ignore[misc]
        value = getattr(obj, field.name)
        if field.repr is masked_repr:
            yield field.name, _masked(value)
        elif field.repr is masked_extras_repr:
            yield field.name, _masked_extras(value)
        else:
            yield field.name, value

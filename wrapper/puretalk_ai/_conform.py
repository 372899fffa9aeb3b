"""Checking generated models against their own annotations, compiled once per type.

The generated from_dict converts uuids and datetimes but takes every other value as it
comes. Checking each field against the model's annotations, read at run time, keeps that
strict for fields Puretalk adds later too, with no edit here.
"""

from __future__ import annotations

import datetime
import types
import typing
from typing import Any

import attrs

from puretalk_ai_openapi import models as _models
from puretalk_ai_openapi.types import UNSET, Unset

__all__ = ["Mismatch", "conform_model"]


class Mismatch(TypeError):
    """A value off its annotation; args[0] is the path below the checker that raised."""


Checker = typing.Callable[[Any], Any]
_CHECKERS: dict[Any, Checker] = {}
_FIELDS: dict[type, list[tuple[str, Checker]]] = {}
_NONE = type(None)


def _join(name: str, below: str) -> str:
    return name + below if not below or below.startswith("[") else f"{name}.{below}"


def _accept(value: Any) -> Any:
    return value


def _checker(hint: Any) -> Checker:
    """A function that returns the value (conformed) or raises Mismatch; built once per hint."""
    checker = _CHECKERS.get(hint)
    if checker is None:
        checker = _CHECKERS[hint] = _build_checker(hint)
    return checker


def _build_checker(hint: Any) -> Checker:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = [_checker(a) for a in args if a is not Unset]
        if len(options) == 1:
            return options[0]

        def union(value: Any) -> Any:
            deeper: Mismatch | None = None
            for option in options:
                try:
                    return option(value)
                except Mismatch as exc:
                    if exc.args[0]:  # the right type, wrong inside: report the inside
                        deeper = exc
            raise deeper or Mismatch("")

        return union
    if hint is Any or hint is object:
        return _accept
    if origin is list:
        item = _checker(args[0]) if args else _accept

        def list_of(value: Any) -> Any:
            if not isinstance(value, list):
                raise Mismatch("")
            for index, element in enumerate(value):
                try:
                    conformed = item(element)
                except Mismatch as exc:
                    raise Mismatch(_join(f"[{index}]", exc.args[0])) from None
                if conformed is not element:
                    value[index] = conformed
            return value

        return list_of
    if origin is dict:
        return _instance_of(dict)
    if origin is typing.Literal:

        def literal(value: Any) -> Any:
            if value in args:
                return value
            raise Mismatch("")

        return literal
    if not isinstance(hint, type):
        return _accept  # an annotation this checker does not know: trust the generator
    if hint is float:
        return _number(int, float)
    if hint is int:
        return _number(int)
    if hint is datetime.datetime:

        def aware(value: Any) -> Any:
            if not isinstance(value, datetime.datetime):
                raise Mismatch("")
            # RFC 3339 requires an offset; a bare timestamp from the API is taken as UTC.
            return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)

        return aware
    if attrs.has(hint):

        def model(value: Any) -> Any:
            if not isinstance(value, hint):
                raise Mismatch("")
            conform_model(value)
            return value

        return model
    return _instance_of(hint)


def _instance_of(cls: type) -> Checker:
    def instance(value: Any) -> Any:
        if isinstance(value, cls):
            return value
        raise Mismatch("")

    return instance


def _number(*classes: type) -> Checker:
    def number(value: Any) -> Any:
        if isinstance(value, classes) and not isinstance(value, bool):
            return value
        raise Mismatch("")

    return number


def _fields(cls: type) -> list[tuple[str, Checker]]:
    fields = _FIELDS.get(cls)
    if fields is None:
        namespace = {name: getattr(_models, name) for name in _models.__all__}
        hints = typing.get_type_hints(cls, localns=namespace)
        hints.pop("additional_properties", None)
        fields = _FIELDS[cls] = [(name, _checker(hint)) for name, hint in hints.items()]
    return fields


def conform_model(obj: Any) -> None:
    """Check every set field of a generated model against its annotation, in place."""
    for name, check in _fields(type(obj)):
        value = getattr(obj, name)
        if value is UNSET:
            continue
        try:
            conformed = check(value)
        except Mismatch as exc:
            raise Mismatch(_join(name, exc.args[0])) from None
        if conformed is not value:
            setattr(obj, name, conformed)

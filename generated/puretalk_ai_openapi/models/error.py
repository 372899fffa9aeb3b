from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import masked_extras_repr, rich_fields

T = TypeVar("T", bound="Error")


@_attrs_define
class Error:
    """
    Attributes:
        err (bool): Indicates if the response is an error
        msg (str): Message from the API
    """

    err: bool
    msg: str
    additional_properties: dict[str, Any] = _attrs_field(
        init=False, factory=dict, repr=masked_extras_repr
    )

    def __rich_repr__(self) -> Iterator[tuple[str, object]]:
        """What rich prints: secret-named fields masked, as in the repr."""
        yield from rich_fields(self)

    def to_dict(self) -> dict[str, Any]:
        err = self.err

        msg = self.msg

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "err": err,
                "msg": msg,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        err = d.pop("err")

        msg = d.pop("msg")

        error = cls(
            err=err,
            msg=msg,
        )

        error.additional_properties = d
        return error

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties

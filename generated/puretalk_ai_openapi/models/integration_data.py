from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset, masked_extras_repr, masked_repr, rich_fields

T = TypeVar("T", bound="IntegrationData")


@_attrs_define
class IntegrationData:
    """
    Attributes:
        api_key (str | Unset): API key for the application Example: 123e4567-e89b-12d3-a456-426614174000.
    """

    api_key: str | Unset = _attrs_field(default=UNSET, repr=masked_repr)
    additional_properties: dict[str, Any] = _attrs_field(
        init=False, factory=dict, repr=masked_extras_repr
    )

    def __rich_repr__(self) -> Iterator[tuple[str, object]]:
        """What rich prints: secret-named fields masked, as in the repr."""
        yield from rich_fields(self)

    def to_dict(self) -> dict[str, Any]:
        api_key = self.api_key

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if api_key is not UNSET:
            field_dict["api_key"] = api_key

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        api_key = d.pop("api_key", UNSET)

        integration_data = cls(
            api_key=api_key,
        )

        integration_data.additional_properties = d
        return integration_data

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

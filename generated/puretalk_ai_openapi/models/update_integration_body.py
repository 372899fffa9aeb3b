from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset, masked_extras_repr, rich_fields

if TYPE_CHECKING:
    from ..models.update_integration_body_data import UpdateIntegrationBodyData


T = TypeVar("T", bound="UpdateIntegrationBody")


@_attrs_define
class UpdateIntegrationBody:
    """
    Attributes:
        data (UpdateIntegrationBodyData | Unset):
    """

    data: UpdateIntegrationBodyData | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(
        init=False, factory=dict, repr=masked_extras_repr
    )

    def __rich_repr__(self) -> Iterator[tuple[str, object]]:
        """What rich prints: secret-named fields masked, as in the repr."""
        yield from rich_fields(self)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] | Unset = UNSET
        if not isinstance(self.data, Unset):
            data = self.data.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if data is not UNSET:
            field_dict["data"] = data

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.update_integration_body_data import UpdateIntegrationBodyData

        d = dict(src_dict)
        _data = d.pop("data", UNSET)
        data: UpdateIntegrationBodyData | Unset
        if isinstance(_data, Unset):
            data = UNSET
        else:
            data = UpdateIntegrationBodyData.from_dict(_data)

        update_integration_body = cls(
            data=data,
        )

        update_integration_body.additional_properties = d
        return update_integration_body

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

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset, masked_extras_repr, rich_fields

if TYPE_CHECKING:
    from ..models.integration_data import IntegrationData


T = TypeVar("T", bound="Integration")


@_attrs_define
class Integration:
    """
    Attributes:
        integration_id (UUID | Unset): Unique identifier for the integration Example:
            123e4567-e89b-12d3-a456-426614174000.
        app_name (str | Unset): Name of the application Example: My App.
        friendly_app_name (str | Unset): Friendly name of the application Example: My App.
        logo (str | Unset): Logo of the application
        data (IntegrationData | Unset):
        tools (list[str] | Unset):
        is_custom_tool (bool | Unset): Indicates if the application is a custom tool Example: False.
        created_at (datetime.datetime | Unset): Date and time the integration was created
        updated_at (datetime.datetime | Unset): Date and time the integration was updated
    """

    integration_id: UUID | Unset = UNSET
    app_name: str | Unset = UNSET
    friendly_app_name: str | Unset = UNSET
    logo: str | Unset = UNSET
    data: IntegrationData | Unset = UNSET
    tools: list[str] | Unset = UNSET
    is_custom_tool: bool | Unset = UNSET
    created_at: datetime.datetime | Unset = UNSET
    updated_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(
        init=False, factory=dict, repr=masked_extras_repr
    )

    def __rich_repr__(self) -> Iterator[tuple[str, object]]:
        """What rich prints: secret-named fields masked, as in the repr."""
        yield from rich_fields(self)

    def to_dict(self) -> dict[str, Any]:
        integration_id: str | Unset = UNSET
        if not isinstance(self.integration_id, Unset):
            integration_id = str(self.integration_id)

        app_name = self.app_name

        friendly_app_name = self.friendly_app_name

        logo = self.logo

        data: dict[str, Any] | Unset = UNSET
        if not isinstance(self.data, Unset):
            data = self.data.to_dict()

        tools: list[str] | Unset = UNSET
        if not isinstance(self.tools, Unset):
            tools = self.tools

        is_custom_tool = self.is_custom_tool

        created_at: str | Unset = UNSET
        if not isinstance(self.created_at, Unset):
            created_at = self.created_at.isoformat()

        updated_at: str | Unset = UNSET
        if not isinstance(self.updated_at, Unset):
            updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if integration_id is not UNSET:
            field_dict["integration_id"] = integration_id
        if app_name is not UNSET:
            field_dict["app_name"] = app_name
        if friendly_app_name is not UNSET:
            field_dict["friendly_app_name"] = friendly_app_name
        if logo is not UNSET:
            field_dict["logo"] = logo
        if data is not UNSET:
            field_dict["data"] = data
        if tools is not UNSET:
            field_dict["tools"] = tools
        if is_custom_tool is not UNSET:
            field_dict["is_custom_tool"] = is_custom_tool
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if updated_at is not UNSET:
            field_dict["updated_at"] = updated_at

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.integration_data import IntegrationData

        d = dict(src_dict)
        _integration_id = d.pop("integration_id", UNSET)
        integration_id: UUID | Unset
        if isinstance(_integration_id, Unset):
            integration_id = UNSET
        else:
            integration_id = UUID(_integration_id)

        app_name = d.pop("app_name", UNSET)

        friendly_app_name = d.pop("friendly_app_name", UNSET)

        logo = d.pop("logo", UNSET)

        _data = d.pop("data", UNSET)
        data: IntegrationData | Unset
        if isinstance(_data, Unset):
            data = UNSET
        else:
            data = IntegrationData.from_dict(_data)

        tools = cast(list[str], d.pop("tools", UNSET))

        is_custom_tool = d.pop("is_custom_tool", UNSET)

        _created_at = d.pop("created_at", UNSET)
        created_at: datetime.datetime | Unset
        if isinstance(_created_at, Unset):
            created_at = UNSET
        else:
            created_at = datetime.datetime.fromisoformat(_created_at)

        _updated_at = d.pop("updated_at", UNSET)
        updated_at: datetime.datetime | Unset
        if isinstance(_updated_at, Unset):
            updated_at = UNSET
        else:
            updated_at = datetime.datetime.fromisoformat(_updated_at)

        integration = cls(
            integration_id=integration_id,
            app_name=app_name,
            friendly_app_name=friendly_app_name,
            logo=logo,
            data=data,
            tools=tools,
            is_custom_tool=is_custom_tool,
            created_at=created_at,
            updated_at=updated_at,
        )

        integration.additional_properties = d
        return integration

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

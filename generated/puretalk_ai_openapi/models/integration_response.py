from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset, masked_extras_repr, rich_fields

if TYPE_CHECKING:
    from ..models.integration import Integration


T = TypeVar("T", bound="IntegrationResponse")


@_attrs_define
class IntegrationResponse:
    """
    Attributes:
        msg (str | Unset): Message from the API Example: Integrations retrieved successfully.
        err (bool | Unset): Error flag Example: False.
        results (Integration | Unset):
    """

    msg: str | Unset = UNSET
    err: bool | Unset = UNSET
    results: Integration | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(
        init=False, factory=dict, repr=masked_extras_repr
    )

    def __rich_repr__(self) -> Iterator[tuple[str, object]]:
        """What rich prints: secret-named fields masked, as in the repr."""
        yield from rich_fields(self)

    def to_dict(self) -> dict[str, Any]:
        msg = self.msg

        err = self.err

        results: dict[str, Any] | Unset = UNSET
        if not isinstance(self.results, Unset):
            results = self.results.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if msg is not UNSET:
            field_dict["msg"] = msg
        if err is not UNSET:
            field_dict["err"] = err
        if results is not UNSET:
            field_dict["results"] = results

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.integration import Integration

        d = dict(src_dict)
        msg = d.pop("msg", UNSET)

        err = d.pop("err", UNSET)

        _results = d.pop("results", UNSET)
        results: Integration | Unset
        if isinstance(_results, Unset):
            results = UNSET
        else:
            results = Integration.from_dict(_results)

        integration_response = cls(
            msg=msg,
            err=err,
            results=results,
        )

        integration_response.additional_properties = d
        return integration_response

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

"""The base model, lenient field types, links, collections and error bodies.

Parsing is deliberately lenient, because Partner Center adds fields and enum values
without notice (``"expired"`` in 2022, ``"disabled"`` in 2023):

- unknown fields are kept (``model_extra``), never dropped or rejected;
- enum-like fields (status, billingCycle, relationshipToPartner, ...) are plain
  strings, and integer enum values are kept as their decimal string;
- error and warning codes accept ints and strings (numeric strings become ints);
- datetimes accept ``Z``, offsets, no offset (taken as UTC), 7 fractional digits and
  far-future dates such as ``9999-12-10T00:00:00Z``; an empty or unreadable value
  becomes ``None`` instead of failing the whole response;
- a ``null`` list is read as an empty list;
- field names are matched case-insensitively when the exact camelCase name is
  absent (Microsoft's own examples show ``"Events"`` and PascalCase bodies), and
  enum-like strings are stripped (``"Started "`` reads as ``"Started"``);
- GUID-valued ids (tenant, subscription, order, user, skuId, ...) are lower-cased
  once here (``Guid``), so the app can compare and index them exactly. Offer and
  catalogue ids (``CFQ7TTC0LH18:0001:...``, legacy offer GUIDs) keep their form.

Field names are snake_case in Python and camelCase on the wire.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "AnyList",
    "ApiFault",
    "Code",
    "EnumStr",
    "Guid",
    "GuidList",
    "KeyValuePair",
    "LenientDatetime",
    "Link",
    "Links",
    "NoneAsEmpty",
    "OptGuid",
    "PCModel",
    "ResourceAttributes",
    "ResourceCollection",
    "StrList",
    "is_guid",
    "normalise_id",
]

_GUID = re.compile(
    r"\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?"
)


def is_guid(value: object) -> bool:
    """Return True if ``value`` is a GUID string (hyphenated, braces allowed)."""
    return isinstance(value, str) and _GUID.fullmatch(value.strip()) is not None


def normalise_id(value: str) -> str:
    """Return a GUID in lower case without braces; any other id unchanged.

    Use it wherever an id enters the app from elsewhere (a form, a URL, a file)
    so it matches the ids the models hand out.
    """
    if is_guid(value):
        return value.strip().strip("{}").lower()
    return value


def _guid(value: Any) -> Any:
    return normalise_id(value) if isinstance(value, str) else value


def _guid_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, list):
        return [_guid(v) for v in value]
    return value


def _lenient_datetime(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        # Python 3.11+ accepts "Z" and truncates digits beyond microseconds.
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _enum_str(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _int_or_str(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value


def _none_as_empty(value: Any) -> Any:
    return [] if value is None else value


LenientDatetime = Annotated[datetime | None, BeforeValidator(_lenient_datetime)]
EnumStr = Annotated[str | None, BeforeValidator(_enum_str)]
_Str = Annotated[str, BeforeValidator(_enum_str)]
Code = Annotated[int | str | None, BeforeValidator(_int_or_str)]
StrList = Annotated[list[_Str], BeforeValidator(_none_as_empty)]
AnyList = Annotated[list[Any], BeforeValidator(_none_as_empty)]
Guid = Annotated[str, BeforeValidator(_guid)]
OptGuid = Annotated[str | None, BeforeValidator(_guid)]
GuidList = Annotated[list[str], BeforeValidator(_guid_list)]
# Use as ``Annotated[list[Model], NoneAsEmpty]``.
NoneAsEmpty = BeforeValidator(_none_as_empty)

T = TypeVar("T")


_ALIASES: dict[type[BaseModel], tuple[frozenset[str], dict[str, str]]] = {}


def _aliases(cls: type[BaseModel]) -> tuple[frozenset[str], dict[str, str]]:
    """Return the exact names a model accepts and a lower-case → name map."""
    cached = _ALIASES.get(cls)
    if cached is not None:
        return cached
    names: set[str] = set()
    for name, info in cls.model_fields.items():
        names.add(name)
        if info.alias:
            names.add(info.alias)
        choices = getattr(info.validation_alias, "choices", None)
        if isinstance(info.validation_alias, str):
            names.add(info.validation_alias)
        for choice in choices or ():
            if isinstance(choice, str):
                names.add(choice)
    found = (frozenset(names), {n.lower(): n for n in sorted(names)})
    _ALIASES[cls] = found
    return found


class PCModel(BaseModel):
    """Base for every Partner Center model: camelCase aliases, unknown fields kept."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
    )

    @model_validator(mode="before")
    @classmethod
    def _match_names_case_insensitively(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        exact, lowered = _aliases(cls)
        if all(key in exact for key in data):
            return data
        renamed: dict[Any, Any] = {}
        for key, value in data.items():
            name = lowered.get(key.lower()) if isinstance(key, str) else None
            if key in exact or name is None or name in data or name in renamed:
                renamed[key] = value
            else:
                renamed[name] = value
        return renamed


class KeyValuePair(PCModel):
    key: str
    value: Annotated[str | None, BeforeValidator(_enum_str)] = None


class Link(PCModel):
    """A link as Partner Center writes it: a URI plus the headers to send with it."""

    uri: str
    method: str = "GET"
    headers: Annotated[list[KeyValuePair], BeforeValidator(_none_as_empty)] = []


class Links(PCModel):
    """Links of a resource or collection; other link names are kept as extras."""

    self_link: Link | None = Field(default=None, alias="self")
    next: Link | None = None
    previous: Link | None = None


class ResourceAttributes(PCModel):
    object_type: str | None = None
    etag: str | None = None


class ResourceCollection(PCModel, Generic[T]):
    """A collection envelope; seek-paged ones also carry ``continuationToken``.

    A bare JSON array is read as its items.
    """

    total_count: int | None = None
    items: Annotated[list[T], BeforeValidator(_none_as_empty)] = []
    links: Links | None = None
    continuation_token: str | None = None
    attributes: ResourceAttributes | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_bare_array(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"items": data}
        return data


class ApiFault(PCModel):
    """An error body: ``{code, description, data, source}``.

    The 429 body ``{statusCode, message}`` also parses into it.
    """

    code: Code = None
    description: str | None = None
    data: AnyList = []
    source: str | None = None
    status_code: int | None = None
    message: str | None = None

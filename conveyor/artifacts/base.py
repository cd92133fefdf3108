"""The Artifact base class: a typed pointer to files, with properties recorded in ML Metadata.

An artifact is a directory (its ``uri``) plus typed properties. Subclasses name their ML Metadata
type (``TYPE_NAME``, TFX-compatible) and declare their properties in ``PROPERTIES``; properties
read and write as attributes (``examples.span = 3``). Anything else goes in
``custom_properties``.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

#: Python types a declared property may have, and the ML Metadata value type storing each.
#: ``list`` (of strings) is stored as a JSON string, which is how TFX stores ``split_names``.
PROPERTY_KINDS: Mapping[type, str] = {int: "INT", float: "DOUBLE", str: "STRING", list: "STRING"}

#: Artifact states, as ML Metadata names them.
PENDING, LIVE, ABANDONED, DELETED = "PENDING", "LIVE", "ABANDONED", "DELETED"

CustomValue = str | int | float | bool

#: A custom property an executor may set to one line for people ("pushed version 3 as stable");
#: runners print it under the artifact in their run summary.
SUMMARY = "summary"

_registry: dict[str, type[Artifact]] = {}


class Artifact:
    """Base of every artifact type.

    Layout: ``uri`` is a directory owned by the artifact; its content is defined by the subclass.
    Conveyor writes it under ``<root>/<pipeline>/<node>/<output>/<execution id>/`` and never
    changes it once the artifact is LIVE.
    """

    TYPE_NAME: ClassVar[str] = "Artifact"
    #: Declared properties: name -> one of ``int``, ``float``, ``str``, ``list`` (of str).
    PROPERTIES: ClassVar[Mapping[str, type]] = {}
    #: ML Metadata system base type (``DATASET``, ``MODEL``, ``STATISTICS``, ``METRICS``) or None.
    BASE_TYPE: ClassVar[str | None] = None

    uri: str
    id: int | None
    state: str
    properties: dict[str, Any]
    custom_properties: dict[str, CustomValue]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, kind in cls.PROPERTIES.items():
            if kind not in PROPERTY_KINDS:
                raise TypeError(
                    f"{cls.__name__}.PROPERTIES['{name}'] is {kind!r}; "
                    f"use one of int, float, str, list"
                )
        _registry.setdefault(cls.TYPE_NAME, cls)

    def __init__(
        self,
        uri: str = "",
        *,
        properties: Mapping[str, Any] | None = None,
        custom_properties: Mapping[str, CustomValue] | None = None,
        id: int | None = None,
        state: str = PENDING,
    ) -> None:
        object.__setattr__(self, "properties", {})
        self.uri = uri
        self.id = id
        self.state = state
        self.custom_properties = dict(custom_properties or {})
        for name, value in (properties or {}).items():
            setattr(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: declared properties read as attributes.
        if name in type(self).PROPERTIES:
            return self.properties.get(name)
        raise AttributeError(
            f"{type(self).__name__} has no attribute '{name}'"
            + (f" (properties: {', '.join(self.PROPERTIES)})" if self.PROPERTIES else "")
        )

    def __setattr__(self, name: str, value: Any) -> None:
        kinds = type(self).PROPERTIES
        if name in kinds:
            self.properties[name] = _check_property(type(self).__name__, name, kinds[name], value)
        else:
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        props = ", ".join(f"{k}={v!r}" for k, v in self.properties.items())
        sep = ", " if props else ""
        return f"{type(self).__name__}(id={self.id}, uri={self.uri!r}{sep}{props})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form of this artifact (see :meth:`from_dict`)."""
        return {
            "type": self.TYPE_NAME,
            "id": self.id,
            "uri": self.uri,
            "state": self.state,
            "properties": dict(self.properties),
            "custom_properties": dict(self.custom_properties),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Artifact:
        """Rebuild an artifact written by :meth:`to_dict`, as its registered class."""
        cls = artifact_class(str(data["type"]))
        return cls(
            str(data["uri"]),
            properties=data.get("properties") or {},
            custom_properties=data.get("custom_properties") or {},
            id=data.get("id"),
            state=str(data.get("state", PENDING)),
        )


def _check_property(owner: str, name: str, kind: type, value: Any) -> Any:
    if value is None:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is list:
        if isinstance(value, str):
            try:
                value = json.loads(value)  # the stored (TFX) form
            except json.JSONDecodeError:
                pass  # reported below as a wrong type
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return list(value)
    elif isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise TypeError(
        f"{owner}.{name} must be {kind.__name__}"
        f"{' of str' if kind is list else ''}, got {type(value).__name__} {value!r}"
    )


def artifact_class(type_name: str) -> type[Artifact]:
    """The registered class for an ML Metadata type name; unknown names get a plain subclass."""
    if type_name == Artifact.TYPE_NAME:
        return Artifact
    if type_name not in _registry:
        _registry[type_name] = type(type_name, (Artifact,), {"TYPE_NAME": type_name})
    return _registry[type_name]


def registered_types() -> Mapping[str, type[Artifact]]:
    """Every artifact type known in this process, by type name."""
    return dict(_registry)

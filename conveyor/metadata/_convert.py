"""ML Metadata messages to Conveyor's plain records, and Python values to MLMD ``Value`` messages.

Private to :mod:`conveyor.metadata.mlmd`. The functions read the messages they are given (enum
names come from the message's own class), so that package stays the only one importing
``ml_metadata``.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format

from conveyor.artifacts.base import registered_types
from conveyor.errors import MetadataError
from conveyor.metadata.records import ArtifactRecord, ExecutionRecord, RunRecord

#: ML Metadata event types as the records name them. A PENDING_OUTPUT is an output: a pending or
#: abandoned artifact is shown as produced by the execution that was writing it.
EVENT_KINDS: Mapping[str, str] = {
    "INPUT": "INPUT", "DECLARED_INPUT": "INPUT", "INTERNAL_INPUT": "INPUT",
    "OUTPUT": "OUTPUT", "DECLARED_OUTPUT": "OUTPUT", "INTERNAL_OUTPUT": "OUTPUT",
    "PENDING_OUTPUT": "OUTPUT",
}


def set_value(target: Any, value: Any, name: str) -> None:
    """Store ``value`` (str, int, float or bool) in the MLMD ``Value`` message ``target``."""
    # bool first: it is also an int, and must read back as a bool.
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    else:
        raise MetadataError(f"property {name!r} is {type(value).__name__} {value!r}; "
                            f"ML Metadata stores only str, int, float and bool")


def set_values(target: Any, values: Mapping[str, Any]) -> None:
    """Store every value but None into a (custom) properties map of a message."""
    for name, value in values.items():
        if value is not None:
            set_value(target[name], value, name)


def value(stored: Any) -> Any:
    """The Python value of an MLMD ``Value`` message (a dict for a struct, written by TFX)."""
    kind = stored.WhichOneof("value")
    if kind == "struct_value":
        return json_format.MessageToDict(stored.struct_value)
    if kind == "proto_value":
        return stored.proto_value.type_url
    return getattr(stored, kind) if kind else None


def string_property(values: Any, name: str) -> str:
    """A string (custom) property, "" if missing: indexing a message's map would insert it."""
    return values[name].string_value if name in values else ""


def artifact_record(artifact: Any) -> ArtifactRecord:
    """An MLMD ``Artifact`` as a record; list properties of registered types are decoded."""
    cls = registered_types().get(artifact.type)
    properties = {}
    for name, stored in artifact.properties.items():
        decoded = value(stored)
        if cls is not None and cls.PROPERTIES.get(name) is list and isinstance(decoded, str):
            try:
                decoded = json.loads(decoded)
            except ValueError:
                pass  # not written by Conveyor or TFX: keep the raw string
        properties[name] = decoded
    return ArtifactRecord(
        id=artifact.id,
        type_name=artifact.type,
        uri=artifact.uri,
        state=type(artifact).State.Name(artifact.state),
        properties=properties,
        custom_properties={k: value(v) for k, v in artifact.custom_properties.items()},
        create_time_ms=artifact.create_time_since_epoch,
    )


def execution_record(execution: Any) -> ExecutionRecord:
    """An MLMD ``Execution`` as a record; pipeline, run and node come from its properties."""
    return ExecutionRecord(
        id=execution.id,
        type_name=execution.type,
        pipeline=string_property(execution.properties, "pipeline_name"),
        run_id=string_property(execution.properties, "run_id"),
        node_id=string_property(execution.properties, "node_id"),
        state=type(execution).State.Name(execution.last_known_state),
        properties={k: value(v) for k, v in execution.custom_properties.items()},
        create_time_ms=execution.create_time_since_epoch,
        last_update_time_ms=execution.last_update_time_since_epoch,
    )


def run_record(context: Any, pipeline: str) -> RunRecord:
    """A ``pipeline_run`` context as a record; ``pipeline`` if it names none (not ours)."""
    return RunRecord(
        run_id=context.name,
        pipeline=string_property(context.properties, "pipeline_name") or pipeline,
        create_time_ms=context.create_time_since_epoch,
        properties={k: value(v) for k, v in context.custom_properties.items()},
    )


def event_kind(event: Any) -> str | None:
    """"INPUT", "OUTPUT" (see :data:`EVENT_KINDS`) or None for an event of neither kind."""
    return EVENT_KINDS.get(type(event).Type.Name(event.type))


def event_paths(event: Any) -> list[tuple[str, int]]:
    """The (key, index) pairs of an event's path, in order; [("", 0)] for a path without any.

    An artifact given to one execution under several keys is one event whose path holds a
    key and index per key, as TFX writes it: ML Metadata allows one event per artifact,
    execution and event type."""
    pairs: list[tuple[str, int]] = []
    for step in event.path.steps:
        if step.HasField("key"):
            pairs.append((step.key, 0))
        elif step.HasField("index") and pairs:
            pairs[-1] = (pairs[-1][0], step.index)
    return pairs or [("", 0)]


def filter_literal(text: str) -> str:
    """``text`` as a string literal of MLMD's filter syntax (which cannot match a backslash)."""
    return "'" + text.replace("'", "\\'") + "'"

"""Pipeline: named nodes in dependency order, checked as a whole when it is built."""
from __future__ import annotations

import heapq
import re
from collections.abc import Sequence

from conveyor.dsl.channel import RuntimeParameter
from conveyor.dsl.component import Component
from conveyor.errors import (
    CycleError,
    DefinitionError,
    DuplicateNodeError,
    ForeignNodeError,
    did_you_mean,
)

_PIPELINE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_NODE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")


class Pipeline:
    """A named set of nodes, run in dependency order.

    ``root`` is where outputs and (by default) ``metadata.sqlite`` live. ``metadata`` is a
    metadata URL (see :mod:`conveyor.metadata.config`) overriding that default. Runtime
    parameters used by any node are collected into ``parameters``. ``beam_args`` are Beam pipeline
    options for data components (``--runner=...``).

    Raises a :class:`~conveyor.errors.DefinitionError` subclass naming the pipeline, node and
    field for duplicate ids, inputs from nodes not in the pipeline, and dependency cycles.
    ``partial=True`` builds a part of a pipeline (what a notebook runs: a node and its
    ancestors), in which nodes named without a dependency (e.g. by a resolver) may be missing.
    """

    def __init__(
        self,
        name: str,
        nodes: Sequence[Component],
        *,
        root: str = "runs",
        metadata: str | None = None,
        enable_cache: bool = True,
        beam_args: Sequence[str] = (),
        description: str = "",
        partial: bool = False,
    ) -> None:
        if not _PIPELINE_NAME.match(name):
            raise DefinitionError(
                f"pipeline name {name!r} is not valid; use letters, digits, '.', '_' and '-', "
                f"starting with a letter or digit"
            )
        self.name = name
        self.root = root
        self.metadata = metadata
        self.enable_cache = enable_cache
        self.beam_args = list(beam_args)
        self.description = description
        nodes = list(nodes)  # read more than once below; a generator would be used up
        self._check_ids(nodes)
        self._check_membership(nodes)
        self.nodes: list[Component] = self._topological_order(nodes)
        by_id = {n.id: n for n in self.nodes}
        for node in self.nodes:
            node.check_in_pipeline(self.name, by_id, partial=partial)
        self.parameters: dict[str, RuntimeParameter] = self._collect_parameters()

    def node(self, node_id: str) -> Component:
        """The node with id ``node_id``."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(
            f"pipeline '{self.name}' has no node '{node_id}'."
            f"{did_you_mean(node_id, [n.id for n in self.nodes])}"
        )

    @staticmethod
    def dependencies(node: Component) -> list[Component]:
        """Nodes ``node`` must wait for: producers of its inputs, then explicit ``after`` nodes."""
        deps: list[Component] = []
        for channel in node.inputs.values():
            if channel is not None and channel.producer not in deps:
                deps.append(channel.producer)
        deps.extend(n for n in node.upstream if n not in deps)
        return deps

    def _check_ids(self, nodes: Sequence[Component]) -> None:
        seen: dict[str, Component] = {}
        for node in nodes:
            if not isinstance(node, Component):
                raise DefinitionError(
                    f"pipeline '{self.name}': nodes must be components, got "
                    f"{type(node).__name__} {node!r}"
                )
            if not _NODE_ID.match(node.id):
                raise DefinitionError(
                    f"pipeline '{self.name}': node id {node.id!r} is not valid; use letters, "
                    f"digits, '_' and '-', starting with a letter or '_'"
                )
            if node.id in seen:
                other = seen[node.id]
                if other is node:
                    raise DuplicateNodeError(
                        f"pipeline '{self.name}': node '{node.id}' is listed twice; list it once"
                    )
                raise DuplicateNodeError(
                    f"pipeline '{self.name}': two nodes have the id '{node.id}' "
                    f"({type(other).SPEC.name} and {type(node).SPEC.name}); give one another id, "
                    f"e.g. {type(node).SPEC.name}(..., id='{node.id}_2')"
                )
            seen[node.id] = node

    def _check_membership(self, nodes: Sequence[Component]) -> None:
        members = {id(n) for n in nodes}
        for node in nodes:
            for field, channel in node.inputs.items():
                if channel is not None and id(channel.producer) not in members:
                    raise ForeignNodeError(
                        f"pipeline '{self.name}': node '{node.id}' field '{field}' uses output "
                        f"'{channel.key}' of node '{channel.producer_id}', which is not in the "
                        f"pipeline. Add '{channel.producer_id}' to the pipeline's nodes"
                    )
            for dep in node.upstream:
                if id(dep) not in members:
                    raise ForeignNodeError(
                        f"pipeline '{self.name}': node '{node.id}' runs after node '{dep.id}', "
                        f"which is not in the pipeline. Add '{dep.id}' to the pipeline's nodes"
                    )

    def _topological_order(self, nodes: Sequence[Component]) -> list[Component]:
        # Kahn's algorithm, breaking ties by the order the user listed nodes in, so the order
        # (and therefore the IR) is deterministic and reads like the definition.
        position = {id(n): i for i, n in enumerate(nodes)}
        waiting = {id(n): len(self.dependencies(n)) for n in nodes}
        dependents: dict[int, list[Component]] = {id(n): [] for n in nodes}
        for node in nodes:
            for dep in self.dependencies(node):
                dependents[id(dep)].append(node)
        ready = [(position[id(n)], n.id) for n in nodes if waiting[id(n)] == 0]
        heapq.heapify(ready)
        by_position = list(nodes)
        order: list[Component] = []
        while ready:
            pos, _ = heapq.heappop(ready)
            node = by_position[pos]
            order.append(node)
            for child in dependents[id(node)]:
                waiting[id(child)] -= 1
                if waiting[id(child)] == 0:
                    heapq.heappush(ready, (position[id(child)], child.id))
        if len(order) < len(nodes):
            raise CycleError(
                f"pipeline '{self.name}' has a dependency cycle: "
                f"{self._describe_cycle([n for n in nodes if waiting[id(n)] > 0])}. "
                f"Remove one of these dependencies"
            )
        return order

    def _describe_cycle(self, stuck: list[Component]) -> str:
        stuck_ids = {id(n) for n in stuck}
        path: list[Component] = [stuck[0]]
        while True:
            nxt = next(d for d in self.dependencies(path[-1]) if id(d) in stuck_ids)
            if nxt in path:
                cycle = [*path[path.index(nxt):], nxt]
                return " -> ".join(f"'{n.id}'" for n in reversed(cycle))
            path.append(nxt)

    def _collect_parameters(self) -> dict[str, RuntimeParameter]:
        found: dict[str, tuple[RuntimeParameter, str]] = {}
        for node in self.nodes:
            for field, value in node.parameters.items():
                if not isinstance(value, RuntimeParameter):
                    continue
                seen = found.get(value.name)
                if seen is not None and seen[0] != value:
                    raise DefinitionError(
                        f"pipeline '{self.name}': runtime parameter '{value.name}' is declared "
                        f"twice with different types or defaults (node '{seen[1]}' and node "
                        f"'{node.id}' field '{field}'); declare it once and reuse the object"
                    )
                found[value.name] = (value, node.id)
        return {name: p for name, (p, _) in found.items()}

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, nodes=[{', '.join(n.id for n in self.nodes)}])"


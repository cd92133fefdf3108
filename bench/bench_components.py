"""No-op components and pipeline shapes shared by the benchmarks (importable, so that every
compile target accepts them: code in ``__main__`` cannot run in a container)."""
from __future__ import annotations

from conveyor import In, Out, Pipeline, component
from conveyor.artifacts import Examples


@component
def start(out: Out[Examples], index: int = 0) -> None:
    """A no-op source."""


@component
def step(inp: In[Examples], out: Out[Examples], index: int = 0) -> None:
    """A no-op step."""


def chain(n: int, root: str) -> Pipeline:
    """``n`` nodes, each consuming the previous one's output."""
    nodes = [start(id="n0")]
    for i in range(1, n):
        nodes.append(step(inp=nodes[-1].outputs.out, index=i, id=f"n{i}"))
    return Pipeline("chain", nodes, root=root)


def parallel(n: int, root: str) -> Pipeline:
    """``n`` independent nodes."""
    return Pipeline("parallel", [start(index=i, id=f"n{i}") for i in range(n)], root=root)

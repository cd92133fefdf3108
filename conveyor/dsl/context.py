"""What an executor may learn about the execution it runs in."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ExecutionContext:
    """Passed to an executor that declares a parameter named ``context`` (class components) or
    annotated ``ExecutionContext`` (function components).

    ``scratch_dir`` is private to this execution and removed afterwards; ``beam_args`` are the
    Beam pipeline options chosen for the run (empty: Beam's in-process FnApiRunner; see
    :mod:`conveyor.runtime.beam_options`).
    """

    pipeline: str
    run_id: str
    node_id: str
    execution_id: int
    pipeline_root: str
    scratch_dir: str
    beam_args: list[str] = field(default_factory=list)
    runtime_parameters: dict[str, Any] = field(default_factory=dict)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("conveyor.executor"))

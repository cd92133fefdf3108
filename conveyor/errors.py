"""Every exception Conveyor raises on purpose.

::

    ConveyorError
    ├── DefinitionError              the pipeline was built wrong; raised before anything runs
    │   ├── ArgumentError            unknown or missing constructor argument  (also a TypeError)
    │   ├── ParameterTypeError       a parameter value of the wrong type      (also a TypeError)
    │   ├── ArtifactTypeError        a channel of the wrong artifact type     (also a TypeError)
    │   ├── UnsupportedFeatureError  a compile target cannot express something the pipeline uses
    │   ├── DuplicateNodeError       two nodes with one id
    │   ├── CycleError               the nodes depend on each other in a loop
    │   └── ForeignNodeError         an input comes from a node not in the pipeline
    ├── PipelineLoadError            a pipeline file could not be loaded
    ├── IRError                      a compiled pipeline is malformed or of another schema version
    ├── MetadataError                the ML Metadata store refused or lacks something
    │   └── NotFoundError            a run, node or artifact asked for does not exist
    ├── ExecutionError               running a node failed
    │   ├── InputResolutionError     a node's inputs could not be resolved from metadata
    │   ├── ModuleFileError          a user module file is missing, changed or lacks a function
    │   ├── ExecutorError            the executor raised; carries node, run and log path
    │   ├── DataError                input data is unusable; names the file and line (or feature)
    │   └── PublishError             outputs could not be moved into place
    ├── StopRun                      raised by an executor: publish my outputs, run nothing after me
    ├── RunFailedError               a whole run ended with failed or stopped nodes
    └── MissingDependencyError       an optional dependency is not installed (also an ImportError)

Messages say what went wrong, where (pipeline, node, field; file and line for data) and how to
fix it.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class ConveyorError(Exception):
    """Base class of every error Conveyor raises on purpose."""


class DefinitionError(ConveyorError):
    """A pipeline or component was defined wrongly; raised while the pipeline is built."""


class ArgumentError(DefinitionError, TypeError):
    """A component was called with an unknown argument or without a required one."""


class ParameterTypeError(DefinitionError, TypeError):
    """A parameter was given a value of the wrong type."""


class ArtifactTypeError(DefinitionError, TypeError):
    """An input was wired to a channel carrying another artifact type."""


class UnsupportedFeatureError(DefinitionError):
    """The pipeline uses something a compile target cannot express; raised while compiling, naming
    the node and the feature."""


class DuplicateNodeError(DefinitionError):
    """Two nodes of one pipeline share an id."""


class CycleError(DefinitionError):
    """The nodes of a pipeline depend on each other in a loop."""


class ForeignNodeError(DefinitionError):
    """A node consumes an output of (or runs after) a node that is not in the pipeline."""


class PipelineLoadError(ConveyorError):
    """A pipeline file could not be imported or holds no pipeline."""


class IRError(ConveyorError):
    """A compiled pipeline is malformed or was written by an incompatible schema version."""


class MetadataError(ConveyorError):
    """The ML Metadata store refused an operation or is inconsistent."""


class NotFoundError(MetadataError, LookupError):
    """A run, node, execution or artifact that was asked for does not exist."""


class ExecutionError(ConveyorError):
    """Running a node failed."""


class InputResolutionError(ExecutionError):
    """A node's inputs could not be resolved from the metadata store."""


class ModuleFileError(ExecutionError):
    """A user module file is missing, changed since compilation, or lacks the named function."""


class ExecutorError(ExecutionError):
    """A node's executor raised. The original exception is chained as ``__cause__``."""

    def __init__(self, message: str, *, node_id: str, run_id: str, log_path: str | None) -> None:
        super().__init__(message)
        self.node_id = node_id
        self.run_id = run_id
        self.log_path = log_path


class DataError(ExecutionError):
    """Input data cannot be used as it is: a pattern matching no files, an empty or ragged file,
    undecodable bytes, a column whose type changed. The message names the file and line (or the
    split and feature) and says how to fix it."""


class PublishError(ExecutionError):
    """A node's outputs could not be moved into their final location."""


class StopRun(ConveyorError):
    """Raised by an executor after writing its outputs to stop the run on purpose.

    The outputs are published (LIVE) and the execution completes, recording the message as its
    ``stop_reason``; no node downstream of it runs in this run. A validator raises it when it
    finds anomalies and its policy is to stop.
    """


class RunFailedError(ConveyorError):
    """A run ended with one or more failed nodes, or a node stopped it."""

    def __init__(self, message: str, *, run_id: str, failed: list[str],
                 stopped: list[str] | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.failed = failed
        self.stopped = stopped or []


class MissingDependencyError(ConveyorError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    @classmethod
    def for_module(cls, module: str, extra: str, purpose: str) -> MissingDependencyError:
        """Build the error for ``module``, needed for ``purpose`` and shipped by ``extra``."""
        return cls(
            f"{purpose} needs the Python package '{module}', which is not installed. "
            f"Install it with: pip install 'conveyor[{extra}]'"
        )


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``" Did you mean 'x'?"`` for the closest of ``choices``, or ``""`` if none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""

"""Field specifiers of components: Input, Output, Parameter, and the In/Out markers.

Class-based components declare fields with specifiers::

    class Trainer(Component):
        examples: Channel[Examples] = Input()
        module_file: str = Parameter(module_file=True)
        model: Channel[Model] = Output()

Function components annotate parameters instead: ``examples: In[Examples]``,
``model: Out[Model]``, ``k: int = 5``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from conveyor.artifacts import Artifact


class _Missing:
    """Sentinel type for "no default"."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class InputField:
    """What ``Input()`` returns: a declared input channel."""

    optional: bool = False
    many: bool = False
    description: str = ""


@dataclass(frozen=True)
class OutputField:
    """What ``Output()`` returns: a declared output artifact."""

    description: str = ""


@dataclass(frozen=True)
class ParameterField:
    """What ``Parameter()`` returns: a declared plain-value parameter."""

    default: Any = MISSING
    description: str = ""
    module_file: bool = False
    external_files: bool = False
    minimum: int | float | None = None


def Input(
    *, default: None = MISSING, many: bool = False, description: str = ""
) -> Any:
    """Declare an input channel. ``default=None`` makes it optional; ``many=True`` hands the
    executor a list of every artifact the channel resolves to instead of exactly one."""
    return InputField(optional=default is None, many=many, description=description)


def Output(*, init: Literal[False] = False, description: str = "") -> Any:
    """Declare an output artifact. Outputs are never constructor arguments."""
    # `init` exists only for type checkers: Literal[False] keeps outputs out of the __init__
    # they synthesize from the fields (PEP 681).
    del init
    return OutputField(description=description)


def Parameter(
    default: Any = MISSING,
    *,
    description: str = "",
    module_file: bool = False,
    external_files: bool = False,
    minimum: int | float | None = None,
) -> Any:
    """Declare a parameter: a plain JSON-like value fixed when the pipeline is built.

    ``module_file=True``: the value is the path of a user Python module; its content is recorded
    in the compiled pipeline and is part of the cache key. ``external_files=True``: the value names
    external data (a file, a directory or a glob); the content of what it names is part of the
    cache key, so changed data is not served from cache. ``minimum``: the smallest value a
    number may take (``None`` stays allowed when the annotation admits it), checked when the
    node is built and, for a runtime parameter, again when a run starts with its value.
    """
    return ParameterField(
        default=default,
        description=description,
        module_file=module_file,
        external_files=external_files,
        minimum=minimum,
    )


class _InMarker:
    def __repr__(self) -> str:
        return "In"


class _OutMarker:
    def __repr__(self) -> str:
        return "Out"


class _FilesMarker:
    def __repr__(self) -> str:
        return "ExternalFiles"


IN_MARKER = _InMarker()
OUT_MARKER = _OutMarker()
FILES_MARKER = _FilesMarker()

A = TypeVar("A", bound=Artifact)

#: A function component's input artifact: ``examples: In[Examples]``.
In = Annotated[A, IN_MARKER]
#: A function component's output artifact: ``model: Out[Model]``.
Out = Annotated[A, OUT_MARKER]
#: A function component's ``str`` parameter naming external data whose content is fingerprinted.
ExternalFiles = Annotated[str, FILES_MARKER]

"""Finding the user's ``preprocessing_fn`` and checking it before any data is read.

The function comes from a module file (``module_file="preprocessing.py"``, with
``preprocessing_fn`` naming a function in it, default ``"preprocessing_fn"``) or from an import
path (``preprocessing_fn="my_package.features:preprocessing_fn"``). When it takes a
``custom_config`` argument, the component's ``custom_config`` is bound to it (as TFX does).

:class:`GuardedFn` wraps it for tf.Transform: a feature the schema lacks, an exception, or a
result other than a dict of tensors each become a :class:`~conveyor.errors.ModuleFileError`
naming the module, the function and (when it raised) the line. :func:`check_traces` traces it
once with tf.Transform's own tracer, so these errors come before Beam starts.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import os
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from conveyor.dsl.loading import import_file
from conveyor.errors import ConveyorError, ModuleFileError, did_you_mean

DEFAULT_FUNCTION = "preprocessing_fn"


def load_preprocessing_fn(module_file: str | None, preprocessing_fn: str | None,
                          custom_config: Mapping[str, Any]) -> GuardedFn:
    """The user's function, ``custom_config`` bound when it takes one, wrapped in a
    :class:`GuardedFn`."""
    if module_file:
        name = preprocessing_fn or DEFAULT_FUNCTION
        if ":" in name:
            raise ModuleFileError(
                f"Transform: preprocessing_fn='{name}' is an import path, but module_file "
                f"'{module_file}' is set too; give one or the other")
        module, source = _import_file(module_file, name), os.path.abspath(module_file)
        where = f"module file {source}"
    elif preprocessing_fn and ":" in preprocessing_fn:
        module_name, _, name = preprocessing_fn.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise ModuleFileError(f"Transform: cannot import module '{module_name}' of "
                                  f"preprocessing_fn '{preprocessing_fn}': {err}") from err
        except Exception as err:
            raise ModuleFileError(f"Transform: importing module '{module_name}' raised "
                                  f"{type(err).__name__}: {err}") from err
        source = getattr(module, "__file__", None) or module_name
        where = f"module '{module_name}'"
    else:
        raise ModuleFileError(
            "Transform needs a preprocessing_fn: pass module_file='preprocessing.py' (with a "
            "function named preprocessing_fn in it) or "
            "preprocessing_fn='package.module:function'")
    function = getattr(module, name, None)
    if function is None:
        candidates = [n for n, v in vars(module).items()
                      if callable(v) and not n.startswith("_")]
        raise ModuleFileError(f"Transform: {where} has no function '{name}'."
                              f"{did_you_mean(name, candidates)} Define "
                              f"def {name}(inputs): ... returning a dict of tensors")
    if not callable(function):
        raise ModuleFileError(f"Transform: '{name}' in {where} is a "
                              f"{type(function).__name__}, not a function")
    if "custom_config" in _parameters(function):
        function = functools.partial(function, custom_config=dict(custom_config))
    return GuardedFn(function, f"preprocessing_fn '{name}' in {where}", str(source))


def _import_file(path: str, name: str) -> Any:
    if not os.path.isfile(path):
        raise ModuleFileError(f"Transform: module file {os.path.abspath(path)} does not exist; "
                              f"check module_file")
    try:
        module = import_file(path)
    except ConveyorError as err:
        raise ModuleFileError(f"Transform: cannot load the module file of preprocessing_fn "
                              f"'{name}': {err}") from err
    # A module loaded by path cannot be imported by name in another process, so Beam workers
    # (e.g. the DirectRunner's multi_processing mode) receive its functions by value.
    from apache_beam.internal.cloudpickle import cloudpickle

    pickler: Any = cloudpickle  # untyped
    pickler.register_pickle_by_value(module)
    return module


def _parameters(function: Callable[..., Any]) -> Iterable[str]:
    try:
        return inspect.signature(function).parameters
    except (TypeError, ValueError):
        return ()


class _SchemaInputs(dict[str, Any]):
    """The raw features handed to the user's function; a missing one is a clear error."""

    def __init__(self, features: Mapping[str, Any], owner: GuardedFn) -> None:
        super().__init__(features)
        self._owner = owner

    def __missing__(self, key: str) -> Any:
        known = sorted(self)
        raise self._owner.fail(
            f"{self._owner.where} uses feature '{key}', which is not in the schema."
            f"{did_you_mean(str(key), known)} The schema's features are: {', '.join(known)}. "
            f"Fix the name, or add the feature to the data and schema")


class GuardedFn:
    """The user's ``preprocessing_fn`` as tf.Transform calls it, turning its mistakes into
    :class:`ModuleFileError` s. The first error is kept in :attr:`error`, because TensorFlow's
    tracing may re-wrap what propagates."""

    def __init__(self, function: Callable[..., Any], where: str, source: str) -> None:
        self.function = function
        self.where = where
        self.source = source
        self.error: ModuleFileError | None = None

    def fail(self, message: str) -> ModuleFileError:
        """Record (the first) error and return it for raising."""
        error = ModuleFileError(message)
        if self.error is None:
            self.error = error
        return error

    def __call__(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        try:
            outputs = self.function(_SchemaInputs(inputs, self))
        except ModuleFileError:
            raise
        except Exception as err:
            raise self.fail(f"{self.where} raised {type(err).__name__}{self._line(err)}: "
                            f"{err}") from err
        return self._checked(outputs)

    def _line(self, err: BaseException) -> str:
        lines = [frame.lineno for frame in traceback.extract_tb(err.__traceback__)
                 if os.path.abspath(frame.filename) == self.source]
        return f" at line {lines[-1]}" if lines else ""

    def _checked(self, outputs: Any) -> dict[str, Any]:
        import tensorflow as tf

        if not isinstance(outputs, Mapping):
            raise self.fail(f"{self.where} returned a {type(outputs).__name__}; it must return "
                            f"a dict of feature name -> tensor")
        if not outputs:
            raise self.fail(f"{self.where} returned an empty dict; return at least one "
                            f"transformed feature")
        tensor_types = (tf.Tensor, tf.SparseTensor, tf.RaggedTensor)
        for key, value in outputs.items():
            if not isinstance(key, str):
                raise self.fail(f"{self.where} returned a dict with key {key!r}; feature names "
                                f"must be strings")
            if not isinstance(value, tensor_types):
                raise self.fail(
                    f"{self.where} returned '{key}' as a {type(value).__name__}, not a tensor; "
                    f"every value must be a tf.Tensor, tf.SparseTensor or tf.RaggedTensor "
                    f"(wrap constants in tf.constant and broadcast them to the batch)")
        return dict(outputs)


def check_traces(fn: GuardedFn, specs: Mapping[str, Any], temp_dir: str) -> None:
    """Trace ``fn`` as tf.Transform will (TF2 mode), raising its first error cleanly."""
    from tensorflow_transform import impl_helper

    tracer: Any = impl_helper  # untyped
    try:
        tracer.trace_preprocessing_function(fn, dict(specs), use_tf_compat_v1=False,
                                                 base_temp_dir=temp_dir)
    except Exception as err:
        if fn.error is not None:
            raise fn.error from err
        raise ModuleFileError(f"tf.Transform could not trace {fn.where}: "
                              f"{type(err).__name__}: {err}") from err

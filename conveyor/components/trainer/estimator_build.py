"""Building the estimator an EstimatorTrainer fits: the learner named by an import path, its
parameters checked, and the preprocessing in front of it.

The preprocessing is a ``ColumnTransformer`` made from the feature kinds (from the schema, or
the DataFrame's dtypes when no schema is wired):

- numeric features: median imputation, then standard scaling;
- categorical features (text, or integers the schema marks categorical): most-frequent
  imputation, then one-hot encoding that ignores categories unseen in training.

It is the first step of the saved ``sklearn.pipeline.Pipeline``, so predictions on raw rows go
through exactly the preprocessing fitted on the training split.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from conveyor.errors import ExecutionError, ModuleFileError, did_you_mean

#: ``ModelInfo.features`` kinds.
NUMERIC_KINDS = ("int", "float")
STRING_KIND = "string"


def import_estimator(path: str, where: str) -> type:
    """The class named by ``path`` (``"sklearn.ensemble.RandomForestClassifier"``).

    ``where`` names the node and field in errors. Raises :class:`ModuleFileError` with a
    did-you-mean when the module or the class does not exist.
    """
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        raise ModuleFileError(f"{where}: '{path}' is not an import path; write it as "
                              f"'package.module.Class', e.g. 'sklearn.linear_model."
                              f"LogisticRegression' or 'xgboost.XGBClassifier'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ModuleFileError(f"{where}: cannot import module '{module_name}' of '{path}': "
                              f"{err}.{_module_suggestion(module_name)}") from err
    target = getattr(module, class_name, None)
    if not isinstance(target, type):
        public = [n for n in dir(module) if not n.startswith("_")]
        raise ModuleFileError(f"{where}: module '{module_name}' has no class '{class_name}'."
                              f"{did_you_mean(class_name, public)}")
    if not hasattr(target, "fit") or not hasattr(target, "get_params"):
        raise ModuleFileError(f"{where}: '{path}' is not a scikit-learn-style estimator "
                              f"(it lacks fit or get_params)")
    return target


def _module_suggestion(module_name: str) -> str:
    """A did-you-mean for the first part of ``module_name`` that does not import."""
    parent, _, _ = module_name.rpartition(".")
    parts = module_name.split(".")
    for depth in range(len(parts) - 1, 0, -1):
        parent = ".".join(parts[:depth])
        try:
            package = importlib.import_module(parent)
        except ImportError:
            continue
        children = [m.name for m in pkgutil.iter_modules(getattr(package, "__path__", []))]
        hint = did_you_mean(parts[depth], children)
        return hint.replace("'", f"'{parent}.", 1) if hint else ""
    return ""


def make_estimator(cls: type, params: Mapping[str, Any], seed: int, where: str) -> Any:
    """``cls(**params)``, with ``random_state=seed`` (and for XGBoost ``n_jobs=1``) unless
    ``params`` sets them. An unknown parameter name is an :class:`ExecutionError` with a
    did-you-mean.

    One XGBoost thread by default because nodes already run side by side, and XGBoost's own
    default (an OpenMP thread per core) spins when cores are shared: 50 rounds on the penguins
    took 2.5 s with every thread and 0.25 s with one on a busy 2-core machine. scikit-learn
    already defaults to one job. Pass ``n_jobs`` to choose.
    """
    accepted = _parameter_names(cls)
    chosen = dict(params)
    if "random_state" in accepted and "random_state" not in chosen:
        chosen["random_state"] = seed
    if cls.__module__.split(".")[0] == "xgboost" and "n_jobs" not in chosen:
        chosen["n_jobs"] = 1
    try:
        return cls(**chosen)
    except TypeError as err:
        unknown = [name for name in chosen if name not in accepted]
        hints = "".join(did_you_mean(name, accepted) for name in unknown)
        raise ExecutionError(f"{where}: {cls.__name__} rejected the parameters "
                             f"{sorted(chosen)}: {err}.{hints} Its parameters: "
                             f"{', '.join(sorted(accepted))}") from err


def _parameter_names(cls: type) -> list[str]:
    try:
        return sorted(cls().get_params())
    except Exception:  # a class without defaults: fall back to its signature
        return [n for n, p in inspect.signature(cls).parameters.items()
                if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


@contextmanager
def rejected_parameters(cls: type, where: str) -> Iterator[None]:
    """Turn the learner's own refusal of its parameters while fitting (scikit-learn's
    ``InvalidParameterError``, an ``XGBoostError``) into an :class:`ExecutionError`."""
    from sklearn.utils._param_validation import InvalidParameterError

    errors: tuple[type[BaseException], ...] = (InvalidParameterError,)
    try:
        from xgboost.core import XGBoostError

        errors += (XGBoostError,)
    except ImportError:
        pass
    try:
        yield
    except errors as err:
        raise ExecutionError(f"{where}: {cls.__name__} rejected its parameters: "
                             f"{str(err).strip()}. Fix estimator_params (or the "
                             f"hyperparameters)") from err


def check_xgboost_parameters(model: Any, params: Mapping[str, Any], where: str) -> None:
    """Refuse parameters a fitted XGBoost model did not use. Its scikit-learn wrapper hands any
    unknown keyword to the booster, which ignores names it does not know (with a log line that
    reaches Python only on the thread that imported XGBoost); the booster's own configuration
    lists every parameter it knows, so a name absent from it was not used."""
    import json

    named = set(_parameter_names(type(model)))
    extra = [name for name in params if name not in named]
    if not extra:
        return
    known: set[str] = set()
    _collect_keys(json.loads(model.get_booster().save_config()), known)
    unused = [name for name in extra if name not in known]
    if unused:
        hints = "".join(did_you_mean(name, sorted(named | known)) for name in unused)
        raise ExecutionError(f"{where}: {type(model).__name__} does not know the parameters "
                             f"{unused}; XGBoost would ignore them.{hints} Its parameters: "
                             f"{', '.join(sorted(named))}")


def _collect_keys(config: Any, keys: set[str]) -> None:
    if isinstance(config, dict):
        keys.update(config)
        for value in config.values():
            _collect_keys(value, keys)
    elif isinstance(config, list):
        for value in config:
            _collect_keys(value, keys)


def feature_kinds(frame: Any, features: list[str], schema: Any | None) -> dict[str, str]:
    """Each feature's kind (``"int"``, ``"float"`` or ``"string"``): from the schema's
    feature type when the schema has the feature, else from the column's dtype."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    declared = {f.name: f for f in schema.feature} if schema is not None else {}
    kinds = {}
    for name in features:
        feature = declared.get(name)
        if feature is not None and feature.type == schema_pb2.INT:
            kinds[name] = "int"
        elif feature is not None and feature.type == schema_pb2.FLOAT:
            kinds[name] = "float"
        elif feature is not None and feature.type == schema_pb2.BYTES:
            kinds[name] = STRING_KIND
        else:
            kind = frame[name].dtype.kind
            kinds[name] = "int" if kind in "iub" else "float" if kind == "f" else STRING_KIND
    return kinds


def categorical_features(kinds: Mapping[str, str], schema: Any | None) -> list[str]:
    """The features one-hot encoded: text ones, and integers the schema marks categorical."""
    marked = {f.name for f in schema.feature if f.int_domain.is_categorical} \
        if schema is not None else set()
    return [n for n, kind in kinds.items() if kind == STRING_KIND or n in marked]


def accepts_sparse(model: Any) -> bool:
    """Whether ``model`` takes sparse input, from its scikit-learn tags (one-hot columns make
    the preprocessing's output sparse when most of it is zeros)."""
    from sklearn.utils import get_tags

    try:
        return bool(get_tags(model).input_tags.sparse)
    except (AttributeError, TypeError, ValueError):  # no usable tags: play safe
        return False


def make_preprocessing(kinds: Mapping[str, str], categorical: list[str], *,
                       sparse: bool = True) -> Any:
    """The ``ColumnTransformer`` for ``kinds`` (see the module docstring). ``sparse=False``
    always gives a dense array, for learners that refuse sparse input."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [n for n in kinds if n not in categorical]
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric:
        transformers.append(("numeric", Pipeline([
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
        ]), numeric))
    if categorical:
        transformers.append(("categorical", Pipeline([
            # Missing text arrives as None from Examples but often as NaN from pandas (e.g.
            # read_csv) at prediction time; SimpleImputer matches one marker, so one per kind.
            # NaN first: the None imputer refuses input still holding NaN.
            ("impute_nan", SimpleImputer(missing_values=np.nan, strategy="most_frequent")),
            ("impute_none", SimpleImputer(missing_values=None, strategy="most_frequent")),
            ("one_hot", OneHotEncoder(handle_unknown="ignore")),
        ]), categorical))
    return ColumnTransformer(transformers, sparse_threshold=0.3 if sparse else 0.0)

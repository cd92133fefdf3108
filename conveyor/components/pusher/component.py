"""Declarations of InfraValidator and Pusher (cheap to import: no TensorFlow, no gRPC).

::

    infra = InfraValidator(model=trainer.outputs.model, examples=gen.outputs.examples)
    push = Pusher(model=trainer.outputs.model, blessing=evaluator.outputs.blessing,
                  infra_blessing=infra.outputs.blessing,
                  serving_dir="serving/penguin", model_name="penguin",
                  canary=False, retain=5, server_address="localhost:8500")

The executors live in :mod:`.infra` (with the model server process in :mod:`.infra_server`)
and :mod:`.executor`; the serving directory, its ``models.config`` and labels in
:mod:`.destination` and :mod:`.model_config`; talking to a running TensorFlow Serving in
:mod:`.server`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor.artifacts import Examples, InfraBlessing, Model, ModelBlessing, PushedModel
from conveyor.dsl import Channel, Component, Input, Output, Parameter
from conveyor.errors import ParameterTypeError


class InfraValidator(Component):
    """Loads the candidate model in a separate process as a server would, and queries it.

    TensorFlow models: a child process loads ``Format-Serving`` with ``tf.saved_model.load`` and
    serves TensorFlow Serving's gRPC ``PredictionService`` (``Predict`` and ``GetModelMetadata``)
    on a local port; this node sends ``num_requests`` ``PredictRequest`` s of
    ``examples_per_request`` serialized tf.Examples from the ``split`` of ``examples``, and
    checks that every response holds each output of the ``serving_default`` signature with one
    row per example (and, for classification, one column per class). scikit-learn and XGBoost
    models: a child process loads ``model.joblib`` and predicts on real rows; TensorFlow Serving
    cannot serve them, so there is no gRPC contract to check, only that the estimator loads and
    answers with the right shape.

    A model that does not load, answer, or answers wrongly within ``timeout_s`` gets
    ``INFRA_NOT_BLESSED`` and the reason; that is a verdict, not a failure of the node.
    """

    model: Channel[Model] = Input(description="the candidate model")
    examples: Channel[Examples] = Input(description="real rows to send")
    split: str = Parameter(default="eval", description="split of examples to send")
    num_requests: int = Parameter(default=100, minimum=1, description="requests to send")
    examples_per_request: int = Parameter(default=1, minimum=1,
                                          description="tf.Examples per request")
    timeout_s: float = Parameter(default=120.0,
                                 description="limit for loading the model and all requests")
    blessing: Channel[InfraBlessing] = Output()
    executor = "conveyor.components.pusher.infra:validate"

    if not TYPE_CHECKING:  # so type checkers keep the constructor made from the fields
        def __init__(self, *args: Any, id: str | None = None, **kwargs: Any) -> None:
            super().__init__(*args, id=id, **kwargs)
            timeout = self.parameters["timeout_s"]
            if isinstance(timeout, (int, float)) and timeout <= 0:
                raise ParameterTypeError(f"InfraValidator.timeout_s (node '{self.id}') must be "
                                         f"> 0, got {timeout}")


class Pusher(Component):
    """Pushes a blessed model to a versioned serving directory (a TensorFlow Serving model base
    path) and keeps its ``models.config`` with the ``stable`` and ``canary`` labels.

    Only a model that is blessed (and infra-blessed, when ``infra_blessing`` is wired) is pushed;
    otherwise the node succeeds with ``pushed`` = 0 and the ``reason``. A push copies the model
    into a hidden directory of ``serving_dir`` and renames it to the next integer version, so a
    server never sees a partial version; concurrent pushes take a lock and never share a
    version. The new version becomes ``stable``, or with ``canary=True`` gets the ``canary``
    label while ``stable`` stays (a canary needs a stable version beside it: the first push
    into an empty ``serving_dir`` becomes ``stable`` either way). Only the newest ``retain``
    versions are kept, never deleting a labelled one. With ``server_address``, the server is
    sent the new config (``ModelService.HandleReloadConfigRequest``) and asked for the
    version's status until it is AVAILABLE (within ``timeout_s``), then sent the config with
    the new labels.

    ``conveyor rollback`` and ``conveyor promote`` move the labels afterwards. As in TFX, a
    Pusher whose inputs and parameters are unchanged is reused from cache and pushes nothing
    new; ``push.with_cache(False)`` pushes on every run.
    """

    model: Channel[Model] = Input(description="the model to push")
    blessing: Channel[ModelBlessing] | None = Input(default=None,
                                                    description="the Evaluator's verdict")
    infra_blessing: Channel[InfraBlessing] | None = Input(
        default=None, description="the InfraValidator's verdict")
    serving_dir: str = Parameter(description="model base path: versions are its subdirectories "
                                             "(empty: <pipeline root>/serving/<model_name>)")
    model_name: str = Parameter(description="the model's name in models.config and the server")
    canary: bool = Parameter(default=False, description="label the new version 'canary'")
    retain: int = Parameter(default=5, minimum=1,
                            description="versions to keep (labelled ones always)")
    server_address: str | None = Parameter(default=None,
                                           description="host:port of TensorFlow Serving's gRPC")
    timeout_s: float = Parameter(default=60.0,
                                 description="wait for the server to load the version")
    pushed_model: Channel[PushedModel] = Output()
    executor = "conveyor.components.pusher.executor:push"

    if not TYPE_CHECKING:  # so type checkers keep the constructor made from the fields
        def __init__(self, *args: Any, id: str | None = None, **kwargs: Any) -> None:
            super().__init__(*args, id=id, **kwargs)
            name = self.parameters["model_name"]
            if isinstance(name, str) and (not name or "/" in name):
                raise ParameterTypeError(f"Pusher.model_name (node '{self.id}') must be a "
                                         f"non-empty name without '/', got {name!r}")

"""The Pusher's executor: check the verdicts, then push a new version (see
:class:`~conveyor.components.pusher.component.Pusher`).

The ``pushed_model`` artifact's directory stays empty; its custom properties (as TFX) say what
happened: ``pushed`` (1 or 0), and either ``pushed_destination`` (the version directory),
``pushed_version``, ``labels`` (JSON list of the version's labels) and ``serving_dir``, or the
``reason`` it was not pushed.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field, replace

from conveyor.artifacts import SUMMARY, InfraBlessing, Model, ModelBlessing, PushedModel
from conveyor.components.pusher import destination
from conveyor.components.pusher.model_config import (
    CANARY,
    STABLE,
    ServingState,
    read_history,
    read_state,
    record_event,
    write_state,
)
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import DataError, ExecutionError
from conveyor.models.format import (
    ESTIMATOR_DIR,
    MODEL_INFO_FILE,
    SERVING_DIR,
    read_model_info,
)


@dataclass
class PushOutcome:
    """What one push did."""

    version: int
    path: str
    labels: list[str]
    retired: list[int] = field(default_factory=list)
    state: ServingState | None = None
    #: False when the model already was the labelled version and nothing was copied.
    new_version: bool = True


def push(model: Model, pushed_model: PushedModel, serving_dir: str, model_name: str,
         context: ExecutionContext, blessing: ModelBlessing | None = None,
         infra_blessing: InfraBlessing | None = None, canary: bool = False, retain: int = 5,
         server_address: str | None = None, timeout_s: float = 60.0) -> None:
    """Push ``model`` if its verdicts allow; record the outcome on ``pushed_model``."""
    reason = refusal(blessing, infra_blessing)
    if reason is not None:
        context.logger.warning("not pushing model %s: %s", model.uri, reason)
        pushed_model.custom_properties.update({"pushed": 0, "reason": reason,
                                               SUMMARY: _one_line(reason)})
        return
    serving_dir = serving_dir or default_serving_dir(context.pipeline_root, model_name)
    outcome = push_version(serving_dir, model_name, model.uri, canary=canary, retain=retain,
                           server_address=server_address, timeout_s=timeout_s,
                           details={"pipeline": context.pipeline, "run_id": context.run_id,
                                    "node_id": context.node_id},
                           reuse_labelled=True)
    did = "pushed" if outcome.new_version else "already serving as"
    context.logger.info("%s %s: %s version %d (%s)%s", did, model.uri, model_name,
                        outcome.version, ", ".join(outcome.labels) or "no label",
                        f"; retired {outcome.retired}" if outcome.retired else "")
    pushed_model.custom_properties.update({
        "pushed": 1, "pushed_destination": outcome.path, "pushed_version": outcome.version,
        "labels": json.dumps(outcome.labels), "serving_dir": os.path.abspath(serving_dir),
        "new_version": int(outcome.new_version),
        SUMMARY: f"{did} version {outcome.version} "
                 f"({', '.join(outcome.labels) or 'no label'}) "
                 f"{'to' if outcome.new_version else 'at'} {outcome.path}",
    })


def _one_line(reason: str) -> str:
    # The summary is one line of the run's table; a verdict's reason may list one failed
    # threshold per line, and stays whole in the `reason` property.
    first, _, rest = reason.partition("\n")
    return f"not pushed: {first.rstrip(':')}" + (" (in full: this artifact's 'reason')"
                                                  if rest else "")


def default_serving_dir(pipeline_root: str, model_name: str) -> str:
    """Where a Pusher given no ``serving_dir`` pushes: ``<pipeline root>/serving/<model>``."""
    return os.path.join(pipeline_root, "serving", model_name)


def refusal(blessing: ModelBlessing | None, infra_blessing: InfraBlessing | None) -> str | None:
    """Why the model must not be pushed, or None when it may be."""
    if blessing is not None and not _blessed(blessing, "BLESSED", "NOT_BLESSED"):
        why = blessing.custom_properties.get("reason", "")
        return f"the model is not blessed by the evaluation{': ' + str(why) if why else ''}"
    if infra_blessing is not None and not _blessed(infra_blessing, "INFRA_BLESSED",
                                                   "INFRA_NOT_BLESSED"):
        why = infra_blessing.custom_properties.get("reason", "")
        return f"the model is not infra-blessed{': ' + str(why) if why else ''}"
    return None


def _blessed(artifact: ModelBlessing | InfraBlessing, yes: str, no: str) -> bool:
    # The marker file is the verdict (TFX's layout); the property, when set, must agree.
    has_yes = os.path.exists(os.path.join(artifact.uri, yes))
    has_no = os.path.exists(os.path.join(artifact.uri, no))
    if has_yes == has_no:
        both = f"both {yes} and {no}" if has_yes else f"neither {yes} nor {no}"
        raise DataError(f"{artifact.TYPE_NAME} at {artifact.uri} holds {both}: it is not a "
                        f"verdict. Was it written by a Conveyor Evaluator / InfraValidator?")
    flag = artifact.custom_properties.get("blessed")
    if flag is not None and bool(int(flag)) != has_yes:
        raise DataError(f"{artifact.TYPE_NAME} at {artifact.uri}: property blessed={flag} "
                        f"contradicts its {yes if has_yes else no} file")
    return has_yes


def push_version(serving_dir: str, model_name: str, model_uri: str, *, canary: bool = False,
                 retain: int = 5, server_address: str | None = None, timeout_s: float = 60.0,
                 details: dict[str, str] | None = None,
                 copy_file: destination.CopyFile = shutil.copy2,
                 reuse_labelled: bool = False) -> PushOutcome:
    """Copy the model at ``model_uri`` into the next version of ``serving_dir`` and relabel.

    Holds the base path's lock throughout. When a server is given and does not load the new
    version, the version is removed again and the error raised; the config is unchanged.

    With ``reuse_labelled`` (the Pusher's way), a model that the label it would get
    (``stable``, or ``canary``) already points at — pushed from the same artifact — is not
    copied again: a run that only re-evaluates the same model (e.g. against itself, once it
    became the blessed baseline) keeps serving that version.
    """
    info = read_model_info(model_uri)
    sources = _sources(model_uri, info.framework)
    if server_address and info.framework != "tensorflow":
        raise ExecutionError(f"server_address is set, but TensorFlow Serving cannot serve a "
                             f"{info.framework} model; leave server_address unset")
    base = destination.prepare(serving_dir)
    with destination.locked(base):
        destination.remove_abandoned(base)
        before = read_state(base, model_name) or ServingState(
            model_name, base, platform=info.framework)
        if before.platform != info.framework:
            raise ExecutionError(f"{base} serves a {before.platform} model; a {info.framework} "
                                 f"model needs its own serving_dir")
        history = read_history(base)
        target = CANARY if canary and STABLE in before.labels else STABLE
        current = before.labels.get(target)
        if reuse_labelled and current in before.versions and model_uri in {
                e.get("model_uri") for e in history
                if e.get("event") == "push" and e.get("version") == current}:
            return PushOutcome(current, os.path.join(base, str(current)),
                               before.labels_of(current), state=before, new_version=False)
        taken = (set(destination.versions_on_disk(base)) | set(before.versions)
                 | {int(e["version"]) for e in history if "version" in e})
        version = max(taken, default=0) + 1
        path = destination.install(base, version, sources, copy_file)
        labels = dict(before.labels)
        if canary and STABLE in labels:
            labels[CANARY] = version
        else:
            labels[STABLE] = version
            labels.pop(CANARY, None)
        versions = sorted({*before.versions, version})
        retired = destination.to_retire(versions, retain, list(labels.values()))
        after = replace(before, versions=[v for v in versions if v not in retired],
                        labels=labels)
        if server_address:
            _update_server(server_address, timeout_s, replace(before, versions=versions),
                           after, version, base)
        write_state(base, after)
        record_event(base, "push", {"version": version, "labels": after.labels_of(version),
                                    "model_uri": model_uri, "retired": retired,
                                    **(details or {})})
        for old in retired:
            destination.retire(base, old)
    return PushOutcome(version, path, after.labels_of(version), retired, after)


def _update_server(address: str, timeout_s: float, loading: ServingState, final: ServingState,
                   version: int, base: str) -> None:
    from conveyor.components.pusher.server import ModelServer

    with ModelServer(address, timeout_s) as server:
        try:
            server.apply(loading, final, version)
        except ExecutionError:
            destination.retire(base, version)
            previous = replace(loading, versions=[v for v in loading.versions if v != version])
            try:
                server.reload(previous.to_proto())
            except ExecutionError:
                pass  # the original error says what is wrong with the server
            raise


def _sources(model_uri: str, framework: str) -> list[tuple[str, str]]:
    info_file = os.path.join(model_uri, MODEL_INFO_FILE)
    if framework == "tensorflow":
        saved_model = os.path.join(model_uri, SERVING_DIR)
        if not os.path.isfile(os.path.join(saved_model, "saved_model.pb")):
            raise DataError(f"model {model_uri} has no SavedModel ({saved_model}/saved_model.pb "
                            f"is missing); the Trainer's run_fn must export one there")
        # TensorFlow Serving loads the SavedModel at the top of the version directory.
        return [(saved_model, ""), (info_file, MODEL_INFO_FILE)]
    estimator = os.path.join(model_uri, ESTIMATOR_DIR)
    if not os.path.isdir(estimator):
        raise DataError(f"model {model_uri} has no {ESTIMATOR_DIR}/ directory; a {framework} "
                        f"model keeps its fitted estimator there")
    return [(estimator, ESTIMATOR_DIR), (info_file, MODEL_INFO_FILE)]

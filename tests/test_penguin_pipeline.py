"""The example pipelines end to end on the real penguins, as `make run` runs them: a first push,
a worse model stopped at the gate with its failing metric and slice, a canary promoted and
rolled back through the CLI, and the scikit-learn path through Evaluator and Pusher."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run_cli

from conveyor import LocalRunner
from conveyor.components.pusher.model_config import read_state
from conveyor.examples import penguin_pipeline, penguin_sklearn
from conveyor.metadata.records import CACHED, COMPLETE
from conveyor.models.format import ESTIMATOR_DIR, MODEL_INFO_FILE
from conveyor.orchestrators.local import RunResult

pytestmark = pytest.mark.slow


def labels(serving: Path) -> tuple[list[int], dict[str, int]]:
    """The versions and labels models.config names."""
    state = read_state(str(serving), "penguin")
    assert state is not None, f"no models.config in {serving}"
    return sorted(state.versions), dict(state.labels)


def pushed(result: RunResult) -> dict[str, object]:
    """The Pusher's record of what it did."""
    return dict(result["pusher"].outputs["pushed_model"][0].custom_properties)


def blessing(result: RunResult) -> dict[str, object]:
    """The Evaluator's verdict."""
    return dict(result["evaluator"].outputs["blessing"][0].custom_properties)


def test_keras_pipeline_pushes_gates_a_worse_model_and_moves_labels(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    serving = root / "serving" / "penguin"

    def run(**parameters: object) -> RunResult:
        return LocalRunner().run(penguin_pipeline.pipeline, root=str(root),
                                 parameters={"train_steps": 150, **parameters})

    first = run()
    assert first.succeeded
    verdict = blessing(first)
    assert verdict["blessed"] == 1 and "no baseline" in str(verdict["reason"])
    assert pushed(first)["pushed_version"] == 1
    assert labels(serving) == ([1], {"stable": 1})
    assert os.path.isfile(serving / "1" / "saved_model.pb")
    evaluation = first["evaluator"].outputs["evaluation"][0].uri
    assert os.path.isfile(os.path.join(evaluation, "report.html"))

    # One training step makes a model far worse than the blessed one: not blessed, not pushed,
    # and the blessing says which metric failed on which slice.
    worse = run(train_steps=1)
    assert worse["trainer"].state == COMPLETE and worse["transform"].state == CACHED
    verdict = blessing(worse)
    assert verdict["blessed"] == 0
    assert verdict["baseline_model_id"] == first["trainer"].outputs["model"][0].id
    reason = str(verdict["reason"])
    assert "accuracy" in reason and "slice" in reason, reason
    assert pushed(worse)["pushed"] == 0 and "not blessed" in str(pushed(worse)["reason"])
    assert labels(serving) == ([1], {"stable": 1})

    # A good model pushed as canary beside stable, promoted, then rolled back.
    canary = run(train_steps=120, canary=True)
    assert blessing(canary)["blessed"] == 1
    assert json.loads(str(pushed(canary)["labels"])) == ["canary"]
    assert labels(serving) == ([1, 2], {"stable": 1, "canary": 2})
    run_cli("promote", "penguin", "--serving-dir", str(serving), check=True)
    assert labels(serving) == ([1, 2], {"stable": 2})
    run_cli("rollback", "penguin", "--serving-dir", str(serving), check=True)
    assert labels(serving)[1] == {"stable": 1}


def test_sklearn_pipeline_evaluates_and_pushes_the_forest(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    result = LocalRunner().run(penguin_sklearn.create_pipeline(root=str(root)))
    assert result.succeeded
    verdict = blessing(result)
    assert verdict["blessed"] == 1, verdict["reason"]
    record = pushed(result)
    assert record["pushed_version"] == 1
    version = root / "serving" / "penguin_forest" / "1"
    assert os.path.isfile(version / ESTIMATOR_DIR / "model.joblib")
    with open(version / MODEL_INFO_FILE, encoding="utf-8") as f:
        assert json.load(f)["framework"] == "sklearn"

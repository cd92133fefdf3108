"""Shared fixtures: a pipeline root per test, its metadata store, and the CLI as a subprocess."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from conveyor.metadata import MetadataConfig, MetadataStore, connect
from conveyor.metadata.records import CACHED, ArtifactRecord

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty pipeline root."""
    path = tmp_path / "root"
    path.mkdir()
    return path


@pytest.fixture
def open_store(root: Path) -> Iterator[MetadataStore]:
    """The SQLite metadata store of ``root`` (as the local runner writes it)."""
    store = connect(MetadataConfig.for_root(str(root)))
    yield store
    store.close()


def run_cli(*args: str, cwd: Path | None = None, check: bool = False,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``conveyor ARGS`` in a fresh Python process and capture its output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd or REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"conveyor {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def lineage_shape(store: MetadataStore, run_id: str,
                  content: Mapping[str, Callable[[ArtifactRecord], object]] | None = None,
                  ) -> dict[str, object]:
    """What a run did, independent of ids, paths and timing: per node, its state, the nodes that
    produced each input, and each output's type, state, properties and content fingerprint.
    Two runs of one pipeline on any orchestrators must have equal shapes.

    ``content`` maps artifact type names to a function of the stored artifact whose result
    stands in for the recorded fingerprint, for types whose files may differ in bytes while
    holding the same data (see ``lineage_content``: Examples, models, evaluations...). Every
    other type keeps its recorded fingerprint."""
    content = content or {}

    def fingerprint(artifact: ArtifactRecord) -> object:
        if artifact.type_name in content:
            return content[artifact.type_name](artifact)
        return artifact.custom_properties.get("conveyor_fingerprint")

    shape: dict[str, object] = {}
    for execution in store.run_executions(run_id):
        io = store.execution_io(execution.id)
        producers = {}
        for key, artifacts in io.inputs.items():
            made_by = store.lineage(artifacts[0].id, "upstream", 1).producers(artifacts[0].id)
            producers[key] = sorted({e.node_id for e in made_by if e.state != CACHED})
        outputs = {k: [(a.type_name, a.state, a.properties, fingerprint(a)) for a in arts]
                   for k, arts in io.outputs.items()}
        shape[execution.node_id] = (execution.state, producers, outputs)
    return shape


#: Training steps of the full penguin pipeline in tests: enough for accuracy far above its bound.
PENGUIN_TRAIN_STEPS = 50


@dataclass(frozen=True)
class LocalRuns:
    """Runs made by the LocalRunner: their metadata store's URL and run ids, in order."""

    metadata: str
    run_ids: tuple[str, ...]


@pytest.fixture(scope="session")
def penguin_local_runs(tmp_path_factory: pytest.TempPathFactory) -> LocalRuns:
    """The full penguin pipeline (``conveyor/examples/penguin_pipeline.py``) run twice by the
    LocalRunner with ``PENGUIN_TRAIN_STEPS``: the twin whose lineage the Kubeflow and Airflow
    runs must match. The second run's resolver finds the first run's blessed model. One pair per
    session: the runs take minutes."""
    from conveyor.examples import penguin_pipeline
    from conveyor.orchestrators.local import LocalRunner

    base = tmp_path_factory.mktemp("penguin_local")
    metadata = f"sqlite://{base / 'metadata.sqlite'}"
    runner = LocalRunner(metadata=metadata)
    parameters = {"train_steps": PENGUIN_TRAIN_STEPS, "serving_dir": str(base / "serving")}
    run_ids = ("local-1", "local-2")
    with warnings.catch_warnings():
        # TFMA warns thousands of times per evaluation (NumPy deprecations): noise here.
        warnings.simplefilter("ignore")
        for run_id in run_ids:
            result = runner.run(penguin_pipeline.pipeline, run_id=run_id,
                                parameters=parameters, root=str(base / "root"))
            assert result.succeeded, f"local run {run_id}: failed {result.failed}"
    return LocalRuns(metadata, run_ids)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-goldens``: rewrite golden files (tests/goldens/) from the current output instead
    of comparing with them. Only on request, and review the diff: never edit goldens by hand."""
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite golden files from the current output")

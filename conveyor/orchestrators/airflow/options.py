"""What an Airflow DAG of a pipeline is made with, and what Airflow cannot express.

:class:`DagOptions` is plain data: the compiler writes it into the DAG file as keyword arguments
of :func:`~conveyor.orchestrators.airflow.dag.build_dag`, which reads it back when Airflow parses
the file. :func:`check_expressible` runs at both times, so a pipeline Airflow cannot run fails
when it is compiled, naming the node and the feature, not when a task starts. Nothing here
imports Airflow.
"""
from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from conveyor.errors import DefinitionError, UnsupportedFeatureError, did_you_mean
from conveyor.ir.model import NodeIR, PipelineIR
from conveyor.ir.parameters import parameter_values
from conveyor.orchestrators.targets import check_inline_ir

#: How a task runs the single-node entrypoint.
OPERATORS = ("bash", "kubernetes")

#: Airflow's rule for DAG and task ids (``airflow.utils.helpers.KEY_REGEX``, 250 characters).
_AIRFLOW_KEY = re.compile(r"^[\w.-]{1,250}$")
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._A-Za-z0-9]+$")

@dataclass(frozen=True)
class DagOptions:
    """How to build the DAG of a compiled pipeline.

    ``dag_id`` defaults to the pipeline name. ``schedule`` is anything Airflow's ``schedule``
    takes as a string (a cron expression, ``@daily``) or None for runs triggered by hand.
    ``start_date`` is an ISO date or date-time, UTC unless it says otherwise. ``retries`` and
    ``retry_delay_s`` apply to every task. ``params`` overrides the compiled defaults of the
    pipeline's runtime parameters (what scheduled runs use; a triggered run may set others).

    ``operator`` is ``bash`` (a subprocess on the Airflow worker, which needs Conveyor and the
    pipeline's code installed) or ``kubernetes`` (one pod per task from ``image`` in
    ``namespace``; needs apache-airflow-providers-cncf-kubernetes). ``python`` is the interpreter
    a task runs: by default the one running Airflow (bash) or ``python`` in the image.
    ``metadata_url`` overrides where tasks record lineage; by default the pipeline's own, else
    ``$CONVEYOR_METADATA`` on the worker, else ``<root>/metadata.sqlite``. ``metadata_secret``
    (``NAME[:KEY]``, key ``url`` by default; kubernetes operator only) sets each pod's
    ``$CONVEYOR_METADATA`` from a Kubernetes secret, so a MySQL password never reaches the DAG
    file.
    """

    dag_id: str | None = None
    schedule: str | None = None
    start_date: str = "2024-01-01"
    catchup: bool = False
    retries: int = 0
    retry_delay_s: float = 300.0
    operator: str = "bash"
    image: str | None = None
    namespace: str = "default"
    python: str | None = None
    metadata_url: str | None = None
    metadata_secret: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=lambda: ["conveyor"])

    def __post_init__(self) -> None:
        if not isinstance(self.schedule, (str, type(None))):
            raise DefinitionError(f"schedule must be a cron expression or preset such as "
                                  f"@daily, or None; got {self.schedule!r}")
        if not isinstance(self.catchup, bool):
            raise DefinitionError(f"catchup must be True or False, got {self.catchup!r}")
        if self.operator not in OPERATORS:
            raise DefinitionError(f"Airflow operator '{self.operator}' is not supported; use "
                                  f"one of: {', '.join(OPERATORS)}")
        if self.operator == "kubernetes" and not self.image:
            raise DefinitionError("the kubernetes operator needs the image tasks run in "
                                  "(--image, with Conveyor and the pipeline's code installed)")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) \
                or self.retries < 0:
            raise DefinitionError(f"retries must be a whole number >= 0, got {self.retries!r}")
        if not isinstance(self.retry_delay_s, (int, float)) or self.retry_delay_s < 0:
            raise DefinitionError(f"retry delay must be seconds >= 0, got "
                                  f"{self.retry_delay_s!r}")
        if self.metadata_secret is not None:
            self.secret_ref()
            if self.operator != "kubernetes":
                raise UnsupportedFeatureError(
                    "a metadata secret reaches pods only (--operator kubernetes); for bash "
                    "tasks set CONVEYOR_METADATA in the Airflow worker's environment")
            if self.metadata_url:
                raise DefinitionError("give either a metadata URL or a metadata secret, not both")
        if self.dag_id is not None and not _AIRFLOW_KEY.match(self.dag_id):
            raise DefinitionError(f"'{self.dag_id}' is not a valid Airflow DAG id; use letters, "
                                  f"digits, '_', '.' and '-' (at most 250)")
        self.start_datetime()

    @classmethod
    def from_kwargs(cls, options: dict[str, Any]) -> DagOptions:
        """Options given by keyword; an unknown one is a DefinitionError that suggests a name."""
        known = [f.name for f in fields(cls)]
        for name in options:
            if name not in known:
                raise DefinitionError(f"unknown Airflow DAG option '{name}'."
                                      f"{did_you_mean(name, known)} Options: {', '.join(known)}")
        return cls(**options)

    def secret_ref(self) -> tuple[str, str]:
        """``(secret name, key)`` of ``metadata_secret``."""
        name, _, key = (self.metadata_secret or "").partition(":")
        if not _K8S_NAME.match(name) or (key and not _SECRET_KEY.match(key)):
            raise DefinitionError(f"metadata secret {self.metadata_secret!r} is not NAME[:KEY] "
                                  f"of a Kubernetes secret (e.g. mlmd-connection:url)")
        return name, key or "url"

    def start_datetime(self) -> datetime:
        """``start_date`` as an aware datetime (UTC when it names no zone)."""
        try:
            value = datetime.fromisoformat(self.start_date)
        except (TypeError, ValueError):
            raise DefinitionError(f"start date {self.start_date!r} is not an ISO date such as "
                                  f"2024-01-01 or 2024-01-01T06:00") from None
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def to_kwargs(self) -> dict[str, Any]:
        """Every option as plain data (Python literals), as the DAG file passes them back."""
        return asdict(self)


def check_expressible(ir: PipelineIR, options: DagOptions) -> None:
    """Raise UnsupportedFeatureError when the DAG of ``ir`` could not run the way ``options`` say.

    Checked: the DAG id and every node id are valid Airflow ids; the compiled pipeline fits in
    one command-line argument; tasks, being separate processes, can share the metadata store
    (not ``memory:``), whose URL holds no password (it would be written into the DAG file);
    function components can be found by the tasks (a notebook's cells cannot be imported
    elsewhere; a pod imports code by module name only); parameter overrides name runtime
    parameters and have their types.
    """
    dag_id = options.dag_id or ir.name
    if not _AIRFLOW_KEY.match(dag_id):
        raise UnsupportedFeatureError(
            f"pipeline '{ir.name}': its name is not a valid Airflow DAG id; choose one with "
            f"--dag-id (letters, digits, '_', '.', '-')")
    for node in ir.nodes:
        if not _AIRFLOW_KEY.match(node.id):
            raise UnsupportedFeatureError(
                f"pipeline '{ir.name}' node '{node.id}': the node id is not a valid Airflow "
                f"task id; rename the node (letters, digits, '_', '.', '-', at most 250)")
        _check_source(ir, node, options)
    check_inline_ir(ir, "Airflow")
    for where, url in (("--metadata-url", options.metadata_url),
                       (f"pipeline '{ir.name}' metadata", ir.metadata)):
        if url:
            _check_metadata_url(where, url)
    parameter_values(ir, options.params, DefinitionError)


def _check_source(ir: PipelineIR, node: NodeIR, options: DagOptions) -> None:
    source = node.source
    if source is None or source.module != "__main__":
        return
    where = f"pipeline '{ir.name}' node '{node.id}'"
    function = node.executor.partition(":")[2]
    path = source.path
    in_notebook = path is None or not os.path.isfile(path) or \
        os.path.basename(os.path.dirname(path)).startswith("ipykernel_")
    if in_notebook:
        raise UnsupportedFeatureError(
            f"{where}: function component '{function}' is defined in a notebook or interactive "
            f"session, which Airflow tasks cannot import. Move it into a module or pipeline file")
    if options.operator == "kubernetes":
        raise UnsupportedFeatureError(
            f"{where}: function component '{function}' is defined in the script being run "
            f"(__main__, {path}); a pod imports code by module name only. Move it into a "
            f"module installed in the image")


def _check_metadata_url(where: str, url: str) -> None:
    if url.split("://")[0].rstrip(":") == "memory":
        raise DefinitionError(f"{where} is '{url}': an in-memory store lives in one process, "
                              f"but each Airflow task is its own process. Use a SQLite file or "
                              f"MySQL")
    if urlparse(url).password:
        raise DefinitionError(f"{where} holds a password, which would be written into the DAG "
                              f"file; set CONVEYOR_METADATA on the Airflow workers instead")

"""What a Kubeflow pipeline of a compiled Conveyor pipeline consists of: plain data, no kfp.

:func:`plan_pipeline` turns the IR and the compile options into a :class:`PipelinePlan`, and is
where everything Kubeflow Pipelines cannot express is refused, naming the node and the feature.
:mod:`conveyor.orchestrators.kubeflow.compiler` then renders the plan with the kfp SDK. Keeping
the decisions here keeps them testable without kfp, and keeps the renderer free of logic.

**Artifacts.** The launcher writes outputs with file operations (a staging directory renamed
into place), so every task must see the pipeline root as a directory at the same path. A
``gs://``, ``s3://`` or ``minio://`` root is mapped to the directory where Kubeflow mounts that
bucket (``/gcs/BUCKET/...``, ``/s3/...``, ``/minio/...``; Vertex AI Pipelines mounts ``/gcs``
itself, a cluster needs a FUSE/CSI mount there) and also becomes the KFP pipeline root. Any
other root must be an absolute path on a volume shared by the tasks (``pvc=`` mounts one); KFP
keeps its cluster default pipeline root then, because KFP itself only accepts bucket URLs.

**Metadata.** The compiled pipeline carries no metadata URL; a task connects to
``$CONVEYOR_METADATA`` (the shared ML Metadata, typically MySQL). It comes, first match wins,
from a Kubernetes secret (``metadata_secret="NAME[:KEY]"``, recommended: no password in the YAML),
from ``metadata_url=`` (set literally on every task), from the pipeline's own ``metadata=``, or
from the cluster (e.g. a pod default); without any, a task uses ``<root>/metadata.sqlite``.
"""
from __future__ import annotations

import dataclasses
import keyword
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from conveyor.dsl.loading import USER_PACKAGE
from conveyor.errors import UnsupportedFeatureError
from conveyor.ir.model import NodeIR, PipelineIR
from conveyor.metadata.config import ENV_VAR, MetadataConfig
from conveyor.orchestrators.targets import check_inline_ir
from conveyor.version import __version__

#: The image tasks run in unless told otherwise: what the repository's Dockerfile builds.
DEFAULT_IMAGE = f"conveyor-runtime:{__version__}"
#: Every task runs the single-node entrypoint.
ENTRYPOINT_COMMAND = ("python", "-m", "conveyor.runtime.entrypoint")
#: Task input carrying the KFP run id (``{{$.pipeline_job_uuid}}``), Conveyor's run id.
RUN_ID_INPUT = "conveyor_run_id"
#: Pipeline input whose default is the compiled pipeline (IR) JSON. Stored once in the YAML and
#: passed to every task, instead of once per task (which made the YAML grow as nodes x IR).
IR_INPUT = "conveyor_ir"
#: Key of the metadata secret read when ``metadata_secret`` names no key.
DEFAULT_SECRET_KEY = "url"
#: Where Kubeflow's launcher expects a bucket URL's files (its ``LocalPathForURI``).
BUCKET_MOUNTS = {"gs": "/gcs", "s3": "/s3", "minio": "/minio"}

# "Output" is reserved by the kfp SDK for a component's single return value.
_RESERVED_INPUTS = (RUN_ID_INPUT, IR_INPUT, "Output")
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


@dataclass(frozen=True)
class KubeflowOptions:
    """How to compile for Kubeflow Pipelines (see the module docstring for each choice).

    ``image``: the image every task runs (it must contain Conveyor and the pipeline's code).
    ``pipeline_root``: overrides the pipeline's root; ``gs://``/``s3://``/``minio://`` or an
    absolute path. ``metadata_url``: set as ``CONVEYOR_METADATA`` on every task (visible in the
    YAML). ``metadata_secret``: ``NAME[:KEY]`` of a Kubernetes secret holding that URL instead.
    ``pvc``: ``CLAIM:MOUNT_PATH``, an existing PersistentVolumeClaim mounted in every task, e.g.
    the volume holding a path root or the SQLite metadata file.
    """

    image: str = DEFAULT_IMAGE
    pipeline_root: str | None = None
    metadata_url: str | None = None
    metadata_secret: str | None = None
    pvc: str | None = None


@dataclass(frozen=True)
class TaskPlan:
    """One Kubeflow task: the node it runs, its KFP task name and the nodes it waits for."""

    node_id: str
    task_name: str
    after: tuple[str, ...]
    no_cache: bool

    def args(self, ir_json: str, run_id: str, parameters: Mapping[str, str]) -> list[str]:
        """Arguments of the entrypoint; ``run_id`` and ``parameters`` values are KFP
        placeholders when compiling, so the run id and every runtime parameter are chosen when
        the KFP run starts."""
        args = ["--ir-json", ir_json, "--node", self.node_id, "--run-id", run_id]
        for name, value in parameters.items():
            args += ["--param", f"{name}={value}"]
        return args + (["--no-cache"] if self.no_cache else [])


@dataclass(frozen=True)
class PipelinePlan:
    """A Kubeflow pipeline: the IR as tasks see it, and one task per node in IR order."""

    ir: PipelineIR
    image: str
    kfp_pipeline_root: str | None
    tasks: tuple[TaskPlan, ...]
    env: Mapping[str, str]
    secret_env: tuple[str, str] | None
    pvc: tuple[str, str] | None

    @property
    def ir_json(self) -> str:
        """The IR, compact: the default of the pipeline input every task reads it from."""
        return self.ir.to_json(indent=None)

    @property
    def description(self) -> str:
        """The KFP pipeline description."""
        count = len(self.ir.nodes)
        return (f"Conveyor pipeline '{self.ir.name}' ({count} node{'' if count == 1 else 's'}), "
                f"compiled by Conveyor {self.ir.conveyor_version or __version__}.")

    def notes(self) -> list[str]:
        """What the cluster must provide for these tasks to work (the compile command prints
        them): storage at the artifact root, the metadata connection, files in the image."""
        root = self.ir.root
        if self.kfp_pipeline_root is not None:
            notes = [f"tasks write artifacts under {root}, Kubeflow's local path for "
                     f"{self.kfp_pipeline_root}: mount the bucket there (Vertex AI Pipelines "
                     f"mounts gs:// buckets under /gcs itself)"]
        elif self.pvc is None or os.path.commonpath([root, self.pvc[1]]) != self.pvc[1]:
            notes = [f"tasks write artifacts under {root}: every task must mount the same "
                     f"shared storage there (e.g. --kfp-pvc CLAIM:{root})"]
        else:
            notes = []
        if not self.env and self.secret_env is None:
            notes.append(f"tasks connect to ${ENV_VAR} as the cluster sets it, else to "
                         f"{root}/metadata.sqlite")
        files = self.image_files()
        if files:
            notes.append(f"tasks read these files at these paths; the image {self.image} must "
                         f"contain them:\n  " + "\n  ".join(files))
        return notes

    def image_files(self) -> list[str]:
        """Files tasks read at the path they had when compiling, so the image must contain them
        there: pipeline files defining function components, and user module files."""
        files: list[str] = []
        for node in self.ir.nodes:
            if node.source is not None and node.source.path and \
                    node.source.module.startswith(f"{USER_PACKAGE}."):
                files.append(node.source.path)
            files.extend(ref.path for ref in node.module_files.values())
        return sorted(set(files))


def kfp_task_name(node_id: str) -> str:
    """The name the kfp SDK gives a task or component called ``node_id`` (lower case, runs of
    other characters turned into one '-'; the SDK's ``maybe_rename_for_k8s``)."""
    return re.sub("-+", "-", re.sub("[^-0-9a-z]+", "-", node_id.lower())).strip("-")


def plan_pipeline(ir: PipelineIR, options: KubeflowOptions | None = None) -> PipelinePlan:
    """Plan the Kubeflow pipeline of ``ir``; :class:`UnsupportedFeatureError` names the node and
    the feature for anything Kubeflow cannot run."""
    options = options or KubeflowOptions()
    where = f"pipeline '{ir.name}'"
    if not options.image.strip():
        raise UnsupportedFeatureError(f"{where}: the task image is empty; give an image that "
                                      f"contains Conveyor, e.g. {DEFAULT_IMAGE}")
    task_names = _check_nodes(ir)
    _check_parameters(ir)
    check_inline_ir(ir, "Kubeflow")
    root, kfp_root = _artifact_root(options.pipeline_root or ir.root, where)
    env, secret = _metadata(ir, options, where)
    pvc = _pvc(options.pvc, where) if options.pvc else None
    tasks = tuple(
        TaskPlan(node.id, task_names[node.id],
                 tuple(dict.fromkeys([*(r.producer for r in node.inputs.values()),
                                      *node.upstream])),
                 no_cache=not (node.enable_cache and ir.enable_cache))
        for node in ir.nodes)
    return PipelinePlan(dataclasses.replace(ir, root=root, metadata=None), options.image.strip(),
                        kfp_root, tasks, env, secret, pvc)


def _check_nodes(ir: PipelineIR) -> dict[str, str]:
    names: dict[str, str] = {}
    owners: dict[str, str] = {}
    for node in ir.nodes:
        where = f"pipeline '{ir.name}' node '{node.id}'"
        if _defined_in_main(node):
            raise UnsupportedFeatureError(
                f"{where}: its function '{node.executor.partition(':')[2]}' is defined in "
                f"__main__ (a script run directly, or a notebook), so its code cannot exist in "
                f"the Kubeflow task's image. Move it into a module installed in the image, or "
                f"into a pipeline file compiled with `conveyor compile --target kubeflow FILE`")
        name = kfp_task_name(node.id)
        if not name:
            raise UnsupportedFeatureError(
                f"{where}: Kubeflow task names keep only letters, digits and '-', so this id "
                f"leaves none; give the node an id with a letter or digit")
        if name in owners:
            raise UnsupportedFeatureError(
                f"{where}: Kubeflow would name its task '{name}', like node '{owners[name]}' "
                f"(task names are lower case with '-' for '_'); give one of them another id")
        owners[name] = node.id
        names[node.id] = name
    return names


def _defined_in_main(node: NodeIR) -> bool:
    return node.executor.partition(":")[0] == "__main__" or (
        node.source is not None and node.source.module == "__main__")


def _check_parameters(ir: PipelineIR) -> None:
    for name in ir.parameters:
        where = f"pipeline '{ir.name}' runtime parameter '{name}'"
        if name in _RESERVED_INPUTS or keyword.iskeyword(name):
            raise UnsupportedFeatureError(
                f"{where}: Kubeflow pipeline parameters cannot be called '{name}' (reserved "
                f"by the kfp SDK or by Conveyor); rename the parameter")


def _artifact_root(root: str, where: str) -> tuple[str, str | None]:
    scheme, sep, rest = root.partition("://")
    if sep:
        bucket_path = rest.strip("/")
        if scheme not in BUCKET_MOUNTS or not bucket_path:
            raise UnsupportedFeatureError(
                f"{where}: pipeline root '{root}' cannot be used on Kubeflow; use gs://BUCKET/"
                f"PATH, s3://BUCKET/PATH, minio://BUCKET/PATH or an absolute path on a volume "
                f"every task mounts")
        return f"{BUCKET_MOUNTS[scheme]}/{bucket_path}", root.rstrip("/")
    if not os.path.isabs(root):
        raise UnsupportedFeatureError(
            f"{where}: pipeline root '{root}' is a relative path, which means a different "
            f"directory in each Kubeflow task; give an absolute path on a shared volume, or a "
            f"gs:// or s3:// URL")
    return os.path.normpath(root), None


def _metadata(ir: PipelineIR, options: KubeflowOptions,
              where: str) -> tuple[dict[str, str], tuple[str, str] | None]:
    if options.metadata_secret and options.metadata_url:
        raise UnsupportedFeatureError(f"{where}: give either a metadata URL or a metadata "
                                      f"secret, not both")
    if options.metadata_secret:
        name, _, key = options.metadata_secret.partition(":")
        key = key or DEFAULT_SECRET_KEY
        if not _K8S_NAME.match(name) or not _SECRET_KEY.match(key):
            raise UnsupportedFeatureError(
                f"{where}: metadata secret '{options.metadata_secret}' is not NAME[:KEY] with a "
                f"Kubernetes secret name (lower case letters, digits, '-', '.') and key")
        return {}, (name, key)
    url = options.metadata_url or ir.metadata
    if not url:
        return {}, None
    if MetadataConfig.parse(url).kind == "memory":
        raise UnsupportedFeatureError(
            f"{where}: metadata '{url}' is an in-memory store that lives in one process, but "
            f"each Kubeflow task is its own pod; use a shared store (mysql://...)")
    return {ENV_VAR: url}, None


def _pvc(spec: str, where: str) -> tuple[str, str]:
    claim, sep, mount = spec.partition(":")
    if not sep or not _K8S_NAME.match(claim) or not os.path.isabs(mount):
        raise UnsupportedFeatureError(
            f"{where}: volume '{spec}' is not CLAIM:MOUNT_PATH with a PersistentVolumeClaim "
            f"name and an absolute mount path")
    return claim, os.path.normpath(mount)


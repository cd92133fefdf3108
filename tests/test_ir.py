"""The compiled pipeline (IR): what the compiler records, exact JSON round trips, and the errors
of reading a malformed or foreign IR and of compiling a pipeline that cannot be compiled."""
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from import_check import modules_imported_by

from conveyor import (
    Channel,
    Component,
    ExternalFiles,
    In,
    Input,
    Out,
    Output,
    Parameter,
    Pipeline,
    RuntimeParameter,
    compile_pipeline,
    component,
)
from conveyor.artifacts import Examples, Model, ModelEvaluation, Schema
from conveyor.dsl.loading import import_file
from conveyor.dsl.source import function_fingerprint
from conveyor.errors import DefinitionError, IRError
from conveyor.ir import (
    SCHEMA_VERSION,
    ArtifactTypeIR,
    ChannelRef,
    FileRef,
    ParameterValue,
    PipelineIR,
    RuntimeParameterIR,
    SourceRef,
)

REPO = Path(__file__).resolve().parent.parent
EXECUTOR = "tests.test_ir:noop"


def noop(**kwargs: Any) -> None:
    """The executor the class components here name; never run by these tests."""


class Gen(Component):
    input_base: str = Parameter()
    examples: Channel[Examples] = Output()
    executor = EXECUTOR


class Train(Component):
    examples: Channel[Examples] = Input()
    schema: Channel[Schema] | None = Input(default=None)
    module_file: str = Parameter(module_file=True)
    steps: int = Parameter(default=10)
    learning_rate: float = Parameter(default=0.1)
    hidden: list[int] = Parameter(default=(8, 4))
    model: Channel[Model] = Output()
    executor = EXECUTOR


@component
def evaluate(examples: In[Examples], model: In[Model], evaluation: Out[ModelEvaluation],
             threshold: float = 0.5) -> None:
    """Evaluate a model."""
    del examples, model, evaluation, threshold


@component
def notify(message: str = "done") -> None:
    """Runs after evaluation, consuming nothing."""
    del message


@pytest.fixture
def module_file(tmp_path: Path) -> Path:
    path = tmp_path / "user_module.py"
    path.write_text("def run_fn(args):\n    return 42\n")
    return path


@pytest.fixture
def pipeline(tmp_path: Path, module_file: Path) -> Pipeline:
    lr = RuntimeParameter("lr", float, default=0.05, description="learning rate")
    gen = Gen(input_base="/data").with_id("gen")
    train = Train(examples=gen.outputs.examples, module_file=str(module_file), steps=20,
                  learning_rate=lr, id="train")
    evaluator = evaluate(examples=gen.outputs.examples, model=train.outputs.model)
    done = notify().after(evaluator)
    return Pipeline("ir-test", [done, evaluator, train, gen], root=str(tmp_path / "root"),
                    beam_args=["--direct_num_workers=2"])


@pytest.fixture
def ir(pipeline: Pipeline) -> PipelineIR:
    return compile_pipeline(pipeline)


def test_json_round_trip_is_exact(ir: PipelineIR) -> None:
    text = ir.to_json()
    again = PipelineIR.from_json(text)
    assert again == ir
    assert again.to_json() == text
    assert PipelineIR.from_json(ir.to_json(indent=None)) == ir


def test_schema_version_and_pipeline_fields(ir: PipelineIR, tmp_path: Path) -> None:
    data = json.loads(ir.to_json())
    assert data["schema_version"] == SCHEMA_VERSION == "conveyor.ir/v2"
    assert list(data)[:3] == ["schema_version", "conveyor_version", "name"]
    assert (ir.name, ir.root, ir.beam_args) == ("ir-test", str(tmp_path / "root"),
                                                ["--direct_num_workers=2"])
    assert ir.enable_cache and ir.metadata is None


def test_relative_root_is_made_absolute(pipeline: Pipeline, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert compile_pipeline(pipeline, root="out").root == str(tmp_path / "out")
    assert compile_pipeline(pipeline, root="gs://bucket/x").root == "gs://bucket/x"


def test_nodes_in_topological_order(ir: PipelineIR) -> None:
    assert [n.id for n in ir.nodes] == ["gen", "train", "evaluate", "notify"]
    assert [n.upstream for n in ir.nodes] == [[], ["gen"], ["gen", "train"], ["evaluate"]]


def test_inputs_name_producer_output_and_type(ir: PipelineIR) -> None:
    assert ir.node("train").inputs == {"examples": ChannelRef("gen", "examples", "Examples")}
    assert ir.node("evaluate").inputs == {
        "examples": ChannelRef("gen", "examples", "Examples", optional=False, many=False),
        "model": ChannelRef("train", "model", "Model"),
    }
    assert ir.node("train").outputs == {"model": "Model"}
    assert ir.node("evaluate").outputs == {"evaluation": "ModelEvaluation"}


def test_optional_unwired_input_is_left_out(ir: PipelineIR) -> None:
    node = json.loads(ir.to_json())["nodes"][1]
    assert node["id"] == "train" and "schema" not in node["inputs"]


def test_parameters_are_literals_or_runtime_references(ir: PipelineIR, module_file: Path) -> None:
    params = ir.node("train").parameters
    assert params["steps"] == ParameterValue(value=20)
    assert params["hidden"] == ParameterValue(value=[8, 4])  # the tuple default, as JSON
    assert params["learning_rate"] == ParameterValue(runtime="lr")
    assert params["module_file"] == ParameterValue(value=str(module_file))
    node = json.loads(ir.to_json())["nodes"][1]
    assert node["parameters"]["learning_rate"] == {"runtime": "lr"}
    assert node["parameters"]["steps"] == {"value": 20}
    assert ir.parameters == {"lr": RuntimeParameterIR("lr", "float", 0.05, "learning rate")}
    assert ir.node("evaluate").parameters == {"threshold": ParameterValue(value=0.5)}


class Steps(Component):
    examples: Channel[Examples] = Input()
    steps: int = Parameter(default=1, minimum=1)
    executor = EXECUTOR


def test_a_runtime_parameter_keeps_its_fields_minimum(tmp_path: Path) -> None:
    gen = Gen(input_base="/data")
    node = Steps(examples=gen.outputs.examples, steps=RuntimeParameter("n", int, default=5))
    ir = compile_pipeline(Pipeline("bounds", [gen, node], root=str(tmp_path)))
    assert ir.node("steps").parameters["steps"] == ParameterValue(runtime="n", minimum=1)
    data = json.loads(ir.to_json())
    assert data["nodes"][1]["parameters"]["steps"] == {"runtime": "n", "minimum": 1}
    assert PipelineIR.from_json(ir.to_json()) == ir
    data["nodes"][1]["parameters"]["steps"]["minimum"] = "one"
    with pytest.raises(IRError, match=r"\.minimum: expected a number, got 'one'$"):
        PipelineIR.from_dict(data)


def test_module_file_is_recorded_with_its_sha256(ir: PipelineIR, module_file: Path) -> None:
    digest = hashlib.sha256(module_file.read_bytes()).hexdigest()
    assert ir.node("train").module_files == {"module_file": FileRef(str(module_file), digest)}
    assert ir.node("gen").module_files == {}


def test_relative_module_file_is_recorded_absolute(module_file: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(module_file.parent)
    gen = Gen(input_base="/d")
    train = Train(examples=gen.outputs.examples, module_file=module_file.name)
    ref = compile_pipeline(Pipeline("p", [gen, train])).node("train").module_files["module_file"]
    assert ref.path == str(module_file)


def test_executors_and_sources(ir: PipelineIR) -> None:
    assert ir.node("train").executor == "tests.test_ir:noop"
    assert ir.node("train").component == f"{__name__}.Train"
    assert ir.node("train").source is None
    node = ir.node("evaluate")
    assert node.executor == f"{__name__}:evaluate"
    assert node.source == SourceRef(__name__, os.path.abspath(__file__),
                                    function_fingerprint(evaluate.EXECUTOR_FUNCTION))


def test_artifact_types_registry(ir: PipelineIR) -> None:
    assert list(ir.artifact_types) == ["Examples", "Model", "ModelEvaluation"]
    assert ir.artifact_types["Examples"] == ArtifactTypeIR(
        "Examples", "conveyor.artifacts.standard:Examples",
        {"span": "int", "version": "int", "split_names": "list"}, "DATASET")
    assert ir.artifact_types["ModelEvaluation"].base_type == "METRICS"
    assert ir.artifact_types["Model"].properties == {}


def test_external_files_are_listed() -> None:
    @component
    def read(out: Out[Examples], pattern: str = "*.csv", data: ExternalFiles = "") -> None:
        del out, pattern, data

    class Reader(Component):
        pattern: str = Parameter(external_files=True)
        examples: Channel[Examples] = Output()
        executor = EXECUTOR

    ir = compile_pipeline(Pipeline("p", [Reader(pattern="/d/*.csv")]))
    assert ir.node("reader").external_files == ["pattern"]
    assert compile_pipeline(Pipeline("p", [read()])).node("read").external_files == ["data"]


def test_save_and_load(ir: PipelineIR, tmp_path: Path) -> None:
    path = tmp_path / "compiled" / "pipeline.json"
    ir.save(str(path))
    assert path.read_text(encoding="utf-8") == ir.to_json()
    assert PipelineIR.load(str(path)) == ir
    assert os.listdir(path.parent) == ["pipeline.json"]  # no temporary file left behind
    with pytest.raises(IRError, match=r"cannot read the compiled pipeline .*missing\.json"):
        PipelineIR.load(str(tmp_path / "missing.json"))


def test_fingerprint_covers_helpers_defined_below_the_component(tmp_path: Path) -> None:
    source = ("from conveyor import Out, Pipeline, component\n"
              "from conveyor.artifacts import Examples\n"
              "@component\n"
              "def make(out: Out[Examples]) -> None:\n"
              "    helper(LIMIT)\n"
              "def helper(x):\n"
              "    return x + {n}\n"
              "LIMIT = 3\n"
              "pipeline = Pipeline('late', [make()])\n")
    fingerprints = []
    for n in (1, 2):
        path = tmp_path / f"late_{n}.py"
        path.write_text(source.replace("{n}", str(n)))
        module = import_file(str(path))
        node = compile_pipeline(module.pipeline).node("make")
        assert node.source is not None
        # What the launcher recomputes from the loaded module must equal what was compiled.
        assert node.source.fingerprint == function_fingerprint(module.make.EXECUTOR_FUNCTION)
        fingerprints.append(node.source.fingerprint)
    assert fingerprints[0] != fingerprints[1]


# --- reading a bad IR ----------------------------------------------------------------------------

@pytest.fixture
def data(ir: PipelineIR) -> dict[str, Any]:
    return json.loads(ir.to_json())


def test_other_schema_version_says_to_recompile(data: dict[str, Any]) -> None:
    data["schema_version"] = "conveyor.ir/v0"
    with pytest.raises(IRError) as err:
        PipelineIR.from_dict(data)
    assert str(err.value) == (
        "the compiled pipeline has schema version 'conveyor.ir/v0', but this Conveyor reads "
        "'conveyor.ir/v1' and 'conveyor.ir/v2'; recompile the pipeline with this version of "
        "Conveyor")


def test_a_v1_pipeline_is_read_with_every_node_an_executor(data: dict[str, Any],
                                                           ir: PipelineIR) -> None:
    data["schema_version"] = "conveyor.ir/v1"
    for node in data["nodes"]:
        del node["kind"]
    upgraded = PipelineIR.from_dict(data)
    assert upgraded == ir
    assert {n.kind for n in upgraded.nodes} == {"executor"}
    assert json.loads(upgraded.to_json())["schema_version"] == "conveyor.ir/v2"


def test_an_unknown_node_kind_is_refused(data: dict[str, Any]) -> None:
    data["nodes"][1]["kind"] = "sensor"
    with pytest.raises(IRError, match=r"ir.nodes\['train'\].kind: expected 'executor' or "
                                      r"'resolver', got 'sensor'"):
        PipelineIR.from_dict(data)


@pytest.mark.parametrize(("path", "message"), [
    (("name",), "ir: missing field 'name'"),
    (("schema_version",), "ir: missing field 'schema_version'"),
    (("nodes", 1, "executor"), "ir.nodes['train']: missing field 'executor'"),
    (("nodes", 2, "inputs", "model", "producer"),
     "ir.nodes['evaluate'].inputs.model: missing field 'producer'"),
    (("nodes", 1, "module_files", "module_file", "sha256"),
     "ir.nodes['train'].module_files.module_file: missing field 'sha256'"),
    (("artifact_types", "Model", "class"), "ir.artifact_types.Model: missing field 'class'"),
    (("parameters", "lr", "type"), "ir.parameters.lr: missing field 'type'"),
])
def test_missing_field_is_named_by_its_path(data: dict[str, Any], path: tuple[Any, ...],
                                            message: str) -> None:
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    with pytest.raises(IRError) as err:
        PipelineIR.from_dict(data)
    assert str(err.value) == message


def test_field_of_the_wrong_type(data: dict[str, Any]) -> None:
    data["nodes"][0]["upstream"] = "none"
    with pytest.raises(IRError, match=r"^ir\.nodes\['gen'\]\.upstream: expected list, got str$"):
        PipelineIR.from_dict(data)


def test_input_from_a_node_that_is_not_earlier(data: dict[str, Any]) -> None:
    data["nodes"][0], data["nodes"][1] = data["nodes"][1], data["nodes"][0]
    with pytest.raises(IRError) as err:
        PipelineIR.from_dict(data)
    assert str(err.value) == ("ir: node 'train' input 'examples' comes from 'gen', which is not "
                              "an earlier node")


def test_upstream_node_that_is_not_earlier(data: dict[str, Any]) -> None:
    data["nodes"][3]["upstream"] = ["nobody"]
    with pytest.raises(IRError, match=r"^ir: node 'notify' runs after 'nobody', which is not an "
                       r"earlier node$"):
        PipelineIR.from_dict(data)


def test_unknown_runtime_parameter(data: dict[str, Any]) -> None:
    data["parameters"] = {}
    with pytest.raises(IRError) as err:
        PipelineIR.from_dict(data)
    assert str(err.value) == ("ir: node 'train' parameter 'learning_rate' uses unknown runtime "
                              "parameter 'lr'")


def test_not_json() -> None:
    with pytest.raises(IRError, match=r"^the compiled pipeline is not valid JSON: "):
        PipelineIR.from_json("{nodes: ")


# --- compile-time errors -------------------------------------------------------------------------

def test_module_file_that_does_not_exist(tmp_path: Path) -> None:
    gen = Gen(input_base="/d")
    train = Train(examples=gen.outputs.examples, module_file=str(tmp_path / "nope.py"))
    with pytest.raises(DefinitionError) as err:
        compile_pipeline(Pipeline("mf", [gen, train]))
    assert str(err.value) == (
        f"pipeline 'mf' node 'train' field 'module_file': module file '{tmp_path / 'nope.py'}' "
        f"does not exist (looked for {tmp_path / 'nope.py'})")


def test_runtime_parameter_as_module_file() -> None:
    gen = Gen(input_base="/d")
    train = Train(examples=gen.outputs.examples, module_file=RuntimeParameter("mf", str))
    with pytest.raises(DefinitionError) as err:
        compile_pipeline(Pipeline("mf", [gen, train]))
    assert str(err.value) == (
        "pipeline 'mf' node 'train' field 'module_file': a module file cannot be a runtime "
        "parameter, because its content must be known when compiling")


def test_import_and_compile_stay_free_of_heavy_libraries() -> None:
    code = (
        "import conveyor\n"
        "from conveyor.examples import hello_pipeline\n"
        "ir = conveyor.compile_pipeline(hello_pipeline.pipeline)\n"
        "assert [n.id for n in ir.nodes] == ['generate', 'summarize', 'fit', 'evaluate']\n"
        "ir.to_json()\n"
    )
    assert modules_imported_by(code, ["ml_metadata", "tensorflow", "apache_beam", "kfp",
                                      "airflow", "pandas"]) == []


def test_input_of_an_output_the_producer_lacks(data: dict[str, Any]) -> None:
    data["nodes"][1]["inputs"]["examples"]["output"] = "exmaples"
    with pytest.raises(IRError, match=r"^ir: node 'train' input 'examples' uses output "
                       r"'exmaples', which node 'gen' does not have$"):
        PipelineIR.from_dict(data)


def test_output_of_an_unregistered_type(data: dict[str, Any]) -> None:
    data["nodes"][0]["outputs"]["examples"] = "Mystery"
    with pytest.raises(IRError, match=r"output 'examples' has unknown artifact type 'Mystery'"):
        PipelineIR.from_dict(data)


def test_saved_ir_is_readable_by_others_and_leaves_no_temp_file(ir: PipelineIR,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "out" / "pipeline.json"
    ir.save(str(path))
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert sorted(os.listdir(path.parent)) == ["pipeline.json"]

"""Definition-time behaviour of the DSL: every mistake is caught while the pipeline is built,
with an error naming the node and field (and pipeline) and saying how to fix it."""
import os
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest

from conveyor import (
    Channel,
    Component,
    ExecutionContext,
    ExternalFiles,
    In,
    Input,
    Out,
    Output,
    Parameter,
    Pipeline,
    RuntimeParameter,
    component,
)
from conveyor.artifacts import Artifact, Examples, ExampleStatistics, Model, Schema, artifact_class
from conveyor.dsl.loading import import_file, load_pipeline
from conveyor.dsl.source import function_fingerprint
from conveyor.errors import (
    ArgumentError,
    ArtifactTypeError,
    CycleError,
    DefinitionError,
    DuplicateNodeError,
    ForeignNodeError,
    ParameterTypeError,
    PipelineLoadError,
)

EXECUTOR = "tests.test_dsl:noop"


def noop(**kwargs: Any) -> None:
    """The executor every class component here names; never run by these tests."""


class ExampleGen(Component):
    input_base: str = Parameter()
    examples: Channel[Examples] = Output()
    executor = EXECUTOR


class StatsGen(Component):
    examples: Channel[Examples] = Input()
    statistics: Channel[ExampleStatistics] = Output()
    executor = EXECUTOR


class Trainer(Component):
    examples: Channel[Examples] = Input()
    schema: Channel[Schema] | None = Input(default=None)
    train_steps: int = Parameter(default=100)
    model: Channel[Model] = Output()
    executor = EXECUTOR


class Typed(Component):
    i: int = Parameter(default=0)
    f: float = Parameter(default=0.0)
    s: str = Parameter(default="")
    b: bool = Parameter(default=False)
    ints: list[int] = Parameter(default=[])
    weights: dict[str, float] = Parameter(default={})
    mode: Literal["fast", "slow"] = Parameter(default="fast")
    level: Literal[1, 2] = Parameter(default=1)
    maybe: int | None = Parameter(default=None)
    executor = EXECUTOR


@pytest.fixture
def gen() -> ExampleGen:
    return ExampleGen(input_base="/data")


def test_input_of_wrong_artifact_type(gen: ExampleGen) -> None:
    stats = StatsGen(examples=gen.outputs.examples)
    with pytest.raises(ArtifactTypeError) as err:
        Trainer(examples=stats.outputs.statistics)
    assert isinstance(err.value, TypeError)
    assert str(err.value) == (
        "Trainer.examples expects Examples, got ExampleStatistics from stats_gen.statistics. "
        "Wire an output of type Examples instead")


def test_input_given_a_plain_value() -> None:
    with pytest.raises(ArtifactTypeError, match=r"^StatsGen\.examples expects a channel of "
                       r"Examples \(an output such as <node>\.outputs\.<name>\), got str '/d'"):
        StatsGen(examples="/d")


def test_unknown_argument_suggests_the_closest_name(gen: ExampleGen) -> None:
    with pytest.raises(ArgumentError) as err:
        Trainer(example=gen.outputs.examples)
    assert isinstance(err.value, TypeError) and isinstance(err.value, DefinitionError)
    assert str(err.value) == ("Trainer() got an unexpected keyword argument 'example'. "
                              "Did you mean 'examples'? Accepted: examples, schema, train_steps")
    with pytest.raises(ArgumentError, match=r"argument 'zzz'\. Accepted: examples$"):
        StatsGen(zzz=1)  # nothing close: no suggestion


def test_output_passed_as_argument(gen: ExampleGen) -> None:
    with pytest.raises(ArgumentError, match=r"Trainer\(\) got 'model', which is an output; "
                       r"outputs are created by the component: use trainer\.outputs\.model"):
        Trainer(examples=gen.outputs.examples, model=gen.outputs.examples)


def test_positional_arguments_are_refused(gen: ExampleGen) -> None:
    with pytest.raises(ArgumentError, match=r"Trainer\(\) takes keyword arguments only, got 1 "
                       r"positional argument\(s\)\. Name them: Trainer\(examples=\.\.\., "):
        Trainer(gen.outputs.examples)


def test_missing_required_input() -> None:
    with pytest.raises(ArgumentError) as err:
        Trainer(train_steps=3)
    assert str(err.value) == (
        "Trainer() missing required argument 'examples' (an input channel of Examples). "
        "Pass the output of an upstream node, e.g. Trainer(examples=<node>.outputs.<output>)")


def test_missing_required_parameter() -> None:
    with pytest.raises(ArgumentError) as err:
        ExampleGen()
    assert str(err.value) == ("ExampleGen() missing required argument 'input_base' (a parameter "
                              "of type str). Pass it: ExampleGen(input_base=...)")


@pytest.mark.parametrize(("field", "value"), [
    ("i", 3), ("i", -1), ("f", 2.5), ("f", 2), ("s", "x"), ("b", True), ("ints", [1, 2]),
    ("ints", (1, 2)), ("weights", {"a": 1.5, "b": 2}), ("mode", "slow"), ("level", 2),
    ("maybe", None), ("maybe", 4), ("i", RuntimeParameter("steps", int, default=5)),
    ("f", RuntimeParameter("lr", int)),  # an int runtime parameter may feed a float
])
def test_parameter_of_the_right_type_is_kept(field: str, value: Any) -> None:
    assert Typed(**{field: value}).parameters[field] == value


@pytest.mark.parametrize(("field", "value", "expected", "got"), [
    ("i", True, "int", "bool True"), ("i", 1.5, "int", "float 1.5"), ("i", "3", "int", "str '3'"),
    ("f", "1.0", "float", "str '1.0'"), ("f", False, "float", "bool False"),
    ("s", 3, "str", "int 3"), ("b", 1, "bool", "int 1"),
    ("ints", [1, "2"], "list[int]", "list [1, '2']"), ("ints", 1, "list[int]", "int 1"),
    ("weights", {"a": "x"}, "dict[str, float]", "dict {'a': 'x'}"),
    ("weights", {1: 1.0}, "dict[str, float]", "dict {1: 1.0}"),
    ("mode", "medium", "Literal['fast', 'slow']", "str 'medium'"),
    ("level", True, "Literal[1, 2]", "bool True"), ("maybe", "x", "int | None", "str 'x'"),
])
def test_parameter_of_the_wrong_type(field: str, value: Any, expected: str, got: str) -> None:
    with pytest.raises(ParameterTypeError) as err:
        Typed(**{field: value})
    assert isinstance(err.value, TypeError)
    assert str(err.value) == f"Typed.{field} (node 'typed') expects {expected}, got {got}"


def test_channel_passed_to_a_parameter(gen: ExampleGen) -> None:
    with pytest.raises(ParameterTypeError,
                       match=r"^Trainer\.train_steps \(node 'trainer'\) is a parameter of type "
                       r"int, not an input; got the channel Channel\(example_gen\.examples: "
                       r"Examples\)\. Pass a plain value"):
        Trainer(examples=gen.outputs.examples, train_steps=gen.outputs.examples)


@pytest.mark.parametrize(("field", "param", "expected"), [
    ("i", RuntimeParameter("rate", float), "int"),
    ("i", RuntimeParameter("flag", bool), "int"),
    ("s", RuntimeParameter("rate", float), "str"),
])
def test_runtime_parameter_of_mismatched_type(field: str, param: RuntimeParameter,
                                              expected: str) -> None:
    with pytest.raises(ParameterTypeError) as err:
        Typed(**{field: param})
    assert str(err.value) == (f"Typed.{field} (node 'typed') expects {expected}, "
                              f"got runtime parameter "
                              f"'{param.name}' of type {param.type_name}")


def test_runtime_parameter_default_must_match_its_type() -> None:
    with pytest.raises(ParameterTypeError, match=r"RuntimeParameter 'rows' has type int but its "
                       r"default is str 'many'; give a default of type int"):
        RuntimeParameter("rows", int, default="many")
    assert RuntimeParameter("lr", float, default=1).default == 1


def test_runtime_parameter_nested_in_a_list_is_refused() -> None:
    with pytest.raises(ParameterTypeError,
                       match=r"Typed\.ints \(node 'typed'\) expects list\[int\].*can only be "
                       r"the whole value of a parameter"):
        Typed(ints=[RuntimeParameter("n", int, default=1)])


class Bounded(Component):
    steps: int | None = Parameter(default=None, minimum=1)
    rate: float = Parameter(default=0.5, minimum=0.0)
    executor = EXECUTOR


def test_a_number_below_its_fields_minimum_is_refused() -> None:
    assert Bounded(steps=1, rate=0.0).parameters == {"steps": 1, "rate": 0.0}
    assert Bounded().parameters["steps"] is None  # None is not a number: an optional field
    with pytest.raises(ParameterTypeError, match=r"^Bounded\.steps \(node 'bounded'\) must be "
                       r">= 1, got 0$"):
        Bounded(steps=0)
    with pytest.raises(ParameterTypeError, match=r"^Bounded\.rate \(node 'bounded'\) must be "
                       r">= 0\.0, got -0\.1$"):
        Bounded(rate=-0.1)
    # A runtime parameter's value is checked when a run starts; its default already now.
    assert isinstance(Bounded(steps=RuntimeParameter("n", int, default=3)).steps,
                      RuntimeParameter)
    with pytest.raises(ParameterTypeError, match=r"^Bounded\.steps \(node 'bounded'\): the "
                       r"default of runtime parameter 'n' must be >= 1, got 0$"):
        Bounded(steps=RuntimeParameter("n", int, default=0))


def test_a_minimum_must_suit_its_field() -> None:
    with pytest.raises(DefinitionError, match=r"^Worded\.name: minimum=1 needs a number "
                       r"parameter, and this one is str$"):
        class Worded(Component):
            name: str = Parameter(default="a", minimum=1)
            executor = EXECUTOR

    with pytest.raises(DefinitionError, match=r"^Low\.k: the default must be >= 1, got 0$"):
        class Low(Component):
            k: int = Parameter(default=0, minimum=1)
            executor = EXECUTOR


def test_cycle_lists_its_nodes(gen: ExampleGen) -> None:
    stats = StatsGen(examples=gen.outputs.examples)
    gen.after(stats)
    with pytest.raises(CycleError) as err:
        Pipeline("loop", [gen, stats])
    assert str(err.value) == ("pipeline 'loop' has a dependency cycle: 'example_gen' -> "
                              "'stats_gen' -> 'example_gen'. Remove one of these dependencies")


def test_cycle_description_leaves_out_nodes_merely_downstream_of_it(gen: ExampleGen) -> None:
    a = StatsGen(examples=gen.outputs.examples, id="a")
    b = Trainer(examples=gen.outputs.examples, id="b").after(a)
    downstream = Trainer(examples=gen.outputs.examples, id="downstream").after(b)
    a.after(b)
    with pytest.raises(CycleError) as err:
        Pipeline("loop", [downstream, gen, a, b])
    assert str(err.value) == ("pipeline 'loop' has a dependency cycle: 'b' -> 'a' -> 'b'. "
                              "Remove one of these dependencies")


def test_two_nodes_with_the_same_default_id() -> None:
    with pytest.raises(DuplicateNodeError) as err:
        Pipeline("dup", [ExampleGen(input_base="a"), ExampleGen(input_base="b")])
    assert str(err.value) == (
        "pipeline 'dup': two nodes have the id 'example_gen' (ExampleGen and ExampleGen); give "
        "one another id, e.g. ExampleGen(..., id='example_gen_2')")


def test_the_same_node_listed_twice(gen: ExampleGen) -> None:
    with pytest.raises(DuplicateNodeError, match=r"^pipeline 'dup': node 'example_gen' is listed "
                       r"twice; list it once$"):
        Pipeline("dup", [gen, gen])


def test_with_id_and_id_argument_resolve_duplicates() -> None:
    first, second = ExampleGen(input_base="a"), ExampleGen(input_base="b", id="gen_b")
    third = ExampleGen(input_base="c").with_id("gen_c")
    pipeline = Pipeline("ok", [first, second, third])
    assert [n.id for n in pipeline.nodes] == ["example_gen", "gen_b", "gen_c"]
    assert pipeline.node("gen_c") is third


def test_output_of_a_node_not_in_the_pipeline(gen: ExampleGen) -> None:
    stats = StatsGen(examples=gen.outputs.examples)
    with pytest.raises(ForeignNodeError) as err:
        Pipeline("partial", [stats])
    assert str(err.value) == (
        "pipeline 'partial': node 'stats_gen' field 'examples' uses output 'examples' of node "
        "'example_gen', which is not in the pipeline. Add 'example_gen' to the pipeline's nodes")


def test_after_a_node_not_in_the_pipeline(gen: ExampleGen) -> None:
    other = ExampleGen(input_base="x", id="other").after(gen)
    with pytest.raises(ForeignNodeError, match=r"^pipeline 'partial': node 'other' runs after "
                       r"node 'example_gen', which is not in the pipeline\. Add 'example_gen'"):
        Pipeline("partial", [other])


def test_nodes_listed_out_of_order_are_sorted_and_ties_keep_listing_order(gen: ExampleGen) -> None:
    stats = StatsGen(examples=gen.outputs.examples)
    trainer = Trainer(examples=gen.outputs.examples)
    late = ExampleGen(input_base="z", id="late").after(trainer)
    assert [n.id for n in Pipeline("p", [late, trainer, stats, gen]).nodes] == \
        ["example_gen", "trainer", "late", "stats_gen"]  # ready nodes go in listing order
    assert [n.id for n in Pipeline("p", [stats, late, gen, trainer]).nodes] == \
        ["example_gen", "stats_gen", "trainer", "late"]


def test_independent_nodes_keep_listing_order() -> None:
    nodes = [ExampleGen(input_base=str(i), id=f"g{i}") for i in (3, 1, 2)]
    assert [n.id for n in Pipeline("p", nodes).nodes] == ["g3", "g1", "g2"]


@pytest.mark.parametrize(("name", "annotation", "field", "message"), [
    ("id", str, Parameter(), r"^Bad\.id: 'id' is reserved; choose another field name$"),
    ("examples", Examples, Input(), (r"^Bad\.examples must be annotated Channel\[<Artifact "
                                     r"type>\], e\.g\. Channel\[Examples\]; got Examples$")),
    ("examples", None, Input(), r"^Bad\.examples needs a type annotation$"),
    ("tags", set[str], Parameter(), (r"^Bad\.tags: parameters must be JSON-like \(int, float, "
                                     r"str, bool, list, dict\[str, \.\.\.\], Literal, "
                                     r"Optional\); got set\[str\]$")),
])
def test_bad_field_declaration(name: str, annotation: Any, field: Any, message: str) -> None:
    namespace = {name: field, "__annotations__": {name: annotation} if annotation else {}}
    with pytest.raises(DefinitionError, match=message):
        types.new_class("Bad", (Component,), {}, lambda ns: ns.update(namespace))


def test_subclass_inherits_the_fields_of_its_component_base() -> None:
    class Tuned(Trainer):
        trials: int = Parameter(default=3)

    assert list(Tuned.SPEC.inputs) == ["examples", "schema"]
    assert list(Tuned.SPEC.parameters) == ["train_steps", "trials"]
    assert list(Tuned.SPEC.outputs) == ["model"]


def _untyped(out: Out[Model], k=3) -> None: ...  # type: ignore[no-untyped-def]
def _star_args(out: Out[Model], *rest: int) -> None: ...
def _out_default(model: Out[Model] = None) -> None: ...  # type: ignore[assignment]
def _in_default(examples: In[Examples] = "x") -> None: ...  # type: ignore[assignment]


@pytest.mark.parametrize(("func", "message"), [
    (_untyped, (r"^@component _untyped: argument 'k' needs a type annotation "
                r"\(In\[<Artifact>\], Out\[<Artifact>\] or a JSON-like type such as int\)$")),
    (_star_args, r"^@component _star_args: \*args/\*\*kwargs are not allowed; name each argument$"),
    (_out_default, r"^@component _out_default: output 'model' cannot have a default; remove "),
    (_in_default, r"^@component _in_default: input 'examples' may only default to None$"),
])
def test_bad_function_component(func: Any, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        component(func)


def test_unknown_output_suggests_the_closest_name(gen: ExampleGen) -> None:
    with pytest.raises(AttributeError) as err:
        gen.outputs.exampels  # noqa: B018
    assert str(err.value) == ("ExampleGen 'example_gen' has no output 'exampels'. Did you mean "
                              "'examples'? Outputs: examples")


def test_outputs_iterate_over_keys_and_give_typed_channels(gen: ExampleGen) -> None:
    trainer = Trainer(examples=gen.outputs.examples, id="t")
    assert list(trainer.outputs) == ["model"] and len(trainer.outputs) == 1
    channel = trainer.outputs.model
    assert (channel.producer, channel.key, channel.artifact_type) == (trainer, "model", Model)
    assert trainer.outputs["model"] is channel
    assert trainer.inputs == {"examples": gen.outputs.examples, "schema": None}  # optional
    assert trainer.train_steps == 100 and trainer.schema is None  # fields read as attributes


@component
def fit(examples: In[Examples], model: Out[Model], context: ExecutionContext,
        schema: In[Schema] = None,  # type: ignore[assignment]
        epochs: int = 3, data: ExternalFiles = "") -> None:
    """Fit a model."""
    del examples, model, context, schema, epochs, data


def test_function_component_spec() -> None:
    spec = fit.SPEC
    assert list(spec.inputs) == ["examples", "schema"]
    assert spec.inputs["examples"].type is Examples and not spec.inputs["examples"].optional
    assert spec.inputs["schema"].type is Schema and spec.inputs["schema"].optional
    assert list(spec.outputs) == ["model"] and spec.outputs["model"].type is Model
    assert list(spec.parameters) == ["epochs", "data"]  # the ExecutionContext is no parameter
    assert spec.parameters["epochs"].default == 3 and not spec.parameters["epochs"].external_files
    assert spec.parameters["data"].external_files and spec.parameters["data"].annotation is str
    assert spec.executor == f"{__name__}:fit" and spec.description == "Fit a model."
    assert spec.source is not None and spec.source.path == os.path.abspath(__file__)


def test_function_component_builds_a_node(gen: ExampleGen) -> None:
    node = fit(examples=gen.outputs.examples, epochs=7)
    assert node.id == "fit" and node.inputs["schema"] is None
    assert node.parameters == {"epochs": 7, "data": ""}
    assert node.outputs.model.artifact_type is Model
    with pytest.raises(ParameterTypeError,
                       match=r"^fit\.epochs \(node 'fit'\) expects int, got str '7'$"):
        fit(examples=gen.outputs.examples, epochs="7")


class Scored(Artifact):
    TYPE_NAME = "ConveyorTestDslScored"
    PROPERTIES: ClassVar[Mapping[str, type]] = {"score": float, "tags": list}


def test_declared_properties_read_and_write_as_attributes() -> None:
    examples = Examples("/tmp/e", properties={"span": 3})
    assert examples.span == 3 and examples.version is None
    examples.version = 2
    assert examples.properties == {"span": 3, "version": 2}
    scored = Scored(properties={"score": 1})
    assert scored.score == 1.0 and isinstance(scored.score, float)
    with pytest.raises(AttributeError, match=r"Examples has no attribute 'spam' \(properties: "
                       r"span, version, split_names\)"):
        examples.spam  # noqa: B018
    stored = Examples("/tmp/e", properties={"split_names": '["train", "eval"]'})  # TFX's form
    assert stored.split_names == ["train", "eval"]


@pytest.mark.parametrize(("name", "value", "message"), [
    ("span", "3", r"Examples\.span must be int, got str '3'"),
    ("span", True, r"Examples\.span must be int, got bool True"),
    ("split_names", ["a", 1], r"Examples\.split_names must be list of str, got list \['a', 1\]"),
])
def test_property_of_the_wrong_type(name: str, value: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        setattr(Examples("/tmp/e"), name, value)


def test_artifact_dict_round_trip() -> None:
    examples = Examples("/tmp/e", properties={"span": 1, "split_names": ["train"]},
                        custom_properties={"note": "x"}, id=7, state="LIVE")
    again = Artifact.from_dict(examples.to_dict())
    assert type(again) is Examples and again.to_dict() == examples.to_dict()


def test_artifact_class_for_known_and_unknown_names() -> None:
    assert artifact_class("Examples") is Examples and artifact_class("Artifact") is Artifact
    made = artifact_class("ConveyorTestDslUnknown")
    assert issubclass(made, Artifact) and made.TYPE_NAME == "ConveyorTestDslUnknown"
    assert artifact_class("ConveyorTestDslUnknown") is made


FINGERPRINT_MODULE = '''
LIMIT = 5
OTHER = 1
def helper(x):
    return x + LIMIT
def unrelated():
    return OTHER
def task(x):
    return helper(x) * 2
result = task(OTHER)
'''


def _task_fingerprint(tmp_path: Path, variant: str, old: str = "", new: str = "") -> str:
    source = FINGERPRINT_MODULE.replace(old, new)
    assert source != FINGERPRINT_MODULE or not old, f"{old!r} not in the module"
    path = tmp_path / f"fp_{variant}.py"
    path.write_text(source)
    return function_fingerprint(import_file(str(path)).task)


@pytest.mark.parametrize(("variant", "old", "new", "changes"), [
    ("body", "helper(x) * 2", "helper(x) * 3", True),
    ("helper", "x + LIMIT", "x - LIMIT", True),
    ("constant", "LIMIT = 5", "LIMIT = 6", True),
    ("other_constant", "OTHER = 1", "OTHER = 2", False),
    ("other_function", "return OTHER", "return OTHER + 1", False),
    ("statement", "result = task(OTHER)", "result = task(OTHER + 4)", False),
])
def test_function_fingerprint(tmp_path: Path, variant: str, old: str, new: str,
                              changes: bool) -> None:
    base = _task_fingerprint(tmp_path, "base")
    assert _task_fingerprint(tmp_path, "base_again") == base
    assert (_task_fingerprint(tmp_path, variant, old, new) != base) is changes


HEADER = """from conveyor import Out, Pipeline, component
from conveyor.artifacts import Examples
@component
def make(out: Out[Examples]) -> None: ...
"""


def _write(tmp_path: Path, body: str) -> str:
    path = tmp_path / "pipeline_file.py"
    path.write_text(HEADER + body)
    return str(path)


def test_load_finds_the_single_pipeline(tmp_path: Path) -> None:
    path = _write(tmp_path, "pipeline = Pipeline('one', [make()])\nalias = pipeline\n")
    loaded = load_pipeline(path)
    assert loaded.name == "one" and [n.id for n in loaded.nodes] == ["make"]
    assert load_pipeline(path) is loaded  # imported once per process


def test_load_calls_create_pipeline(tmp_path: Path) -> None:
    path = _write(tmp_path, "def create_pipeline():\n    return Pipeline('made', [make()])\n")
    assert load_pipeline(path).name == "made"


def test_load_without_a_pipeline(tmp_path: Path) -> None:
    path = _write(tmp_path, "node = make()\n")
    with pytest.raises(PipelineLoadError) as err:
        load_pipeline(path)
    assert str(err.value) == (f"{path}: defines no Pipeline. Assign one at module level "
                              f"(pipeline = Pipeline(...)) or define create_pipeline()")


def test_load_with_two_pipelines_asks_to_choose(tmp_path: Path) -> None:
    path = _write(tmp_path, "a = Pipeline('first', [make()])\nb = Pipeline('second', [make()])\n")
    with pytest.raises(PipelineLoadError) as err:
        load_pipeline(path)
    assert str(err.value) == (f"{path}: defines 2 pipelines (first, second); choose one with "
                              f"--pipeline NAME")
    assert load_pipeline(path, name="second").name == "second"
    with pytest.raises(PipelineLoadError, match=r"defines no Pipeline named 'third'"):
        load_pipeline(path, name="third")


def test_error_in_a_pipeline_file_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "x = 1\npipeline = Pipeline('bad', [make(exampels=1)])\n")
    with pytest.raises(PipelineLoadError) as err:
        load_pipeline(path)
    line = HEADER.count("\n") + 2
    assert str(err.value).startswith(f"{path}, line {line}: ArgumentError: make() got an "
                                     f"unexpected keyword argument 'exampels'")


def test_parameter_default_of_the_wrong_type_is_refused_where_declared() -> None:
    with pytest.raises(DefinitionError, match=r"^Bad\.k: the default 'five' is not of the "
                       r"declared type int; fix the default or the annotation$"):
        class Bad(Component):
            k: int = Parameter(default="five")
            executor = "tests:noop"

    with pytest.raises(DefinitionError, match=r"argument 'k': the default 2\.5 is not of the "
                       r"declared type int"):
        @component
        def bad(k: int = 2.5) -> None:  # type: ignore[assignment]
            del k


def test_outputs_by_key_raise_key_error(gen: ExampleGen) -> None:
    with pytest.raises(KeyError, match=r"has no output 'exampels'\. Did you mean 'examples'"):
        gen.outputs["exampels"]


def test_pipeline_accepts_a_generator_of_nodes() -> None:
    first = ExampleGen(input_base="a", id="first")
    second = ExampleGen(input_base="b", id="second")
    pipeline = Pipeline("gen", (n for n in [first, second]))
    assert [n.id for n in pipeline.nodes] == ["first", "second"]


def test_list_property_refuses_a_plain_string() -> None:
    with pytest.raises(TypeError, match=r"Examples\.split_names must be list of str"):
        Examples("/x", properties={"split_names": "train"})

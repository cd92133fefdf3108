"""InteractiveContext: in process (sessions, cache, errors, views, export), and the notebook
template executed by a real ipykernel through nbclient."""
from __future__ import annotations

import json
import linecache
import os
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PENGUIN_TRAIN_STEPS, REPO, run_cli
from fixture_components import add, announce, produce

from conveyor import RuntimeParameter
from conveyor.artifacts import Examples
from conveyor.dsl.resolver import LatestArtifact
from conveyor.errors import DefinitionError, ExecutorError, InputResolutionError
from conveyor.metadata import MetadataConfig, connect
from conveyor.metadata.records import CACHED, COMPLETE
from conveyor.orchestrators import notebook_views
from conveyor.orchestrators.notebook import ExecutionResult, InteractiveContext
from conveyor.orchestrators.notebook_export import export_pipeline

TEMPLATE = REPO / "conveyor" / "templates" / "interactive.ipynb"
PENGUIN_FEATURES = ["species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                    "body_mass_g", "sex", "year"]
#: The slices the template's Evaluator reports: overall, by island, by sex, by both.
PENGUIN_SLICES = ["Overall", "island=Biscoe", "island=Dream", "island=Torgersen", "sex=female",
                  "sex=male", *(f"island={i}, sex={s}" for i in ("Biscoe", "Dream", "Torgersen")
                                for s in ("female", "male"))]


class FakeNotebook:
    """Runs source text the way IPython runs cells: in the ``__main__`` module's namespace,
    each cell registered with linecache under its own file name and kept in ``_ih``."""

    def __init__(self) -> None:
        self.module = types.ModuleType("__main__")
        self.module._ih = [""]  # type: ignore[attr-defined]
        self.files: list[str] = []

    def run(self, source: str) -> None:
        """Execute one cell."""
        name = f"/nonexistent/ipykernel_test/cell_{len(self.files)}.py"
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
        self.files.append(name)
        self.module._ih.append(source)
        exec(compile(source, name, "exec"), vars(self.module))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)


@pytest.fixture
def notebook(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNotebook]:
    """A fake notebook session: ``sys.modules['__main__']`` is its namespace."""
    fake = FakeNotebook()
    monkeypatch.setitem(sys.modules, "__main__", fake.module)
    yield fake
    for name in fake.files:
        linecache.cache.pop(name, None)


@pytest.fixture
def context(root: Path) -> Iterator[InteractiveContext]:
    """A session on the test's pipeline root."""
    with InteractiveContext("nb", pipeline_root=str(root)) as ctx:
        yield ctx


IMPORTS = """\
import json
import os

from conveyor import In, Out, component
from conveyor.artifacts import Artifact
from conveyor.orchestrators.notebook import InteractiveContext
"""

DEFINITIONS = '''\
class NbNote(Artifact):
    """A note. Layout: ``{uri}/note.json``."""

    TYPE_NAME = "NbNote"
    PROPERTIES = {"text": str, "size": int}


SCALE = 3


def scaled(value: int) -> int:
    return value * SCALE


@component
def write_note(note: Out[NbNote], text: str = "hi", value: int = 1) -> None:
    """Write a note, and a file with an awkward name."""
    with open(os.path.join(note.uri, "note.json"), "w", encoding="utf-8") as f:
        json.dump({"text": text, "value": scaled(value)}, f)
    with open(os.path.join(note.uri, "a<b>.txt"), "w", encoding="utf-8") as f:
        f.write(text)
    note.text = text
    note.size = len(text)
    print("wrote", text)


@component
def read_note(note: In[NbNote], copy: Out[NbNote]) -> None:
    """Copy a note."""
    with open(os.path.join(note.uri, "note.json"), encoding="utf-8") as f:
        data = json.load(f)
    with open(os.path.join(copy.uri, "note.json"), "w", encoding="utf-8") as f:
        json.dump(data, f)
    copy.text = note.text
'''


# ---- sessions, cache, errors -------------------------------------------------------------------

def test_a_session_is_one_pipeline_run(context: InteractiveContext) -> None:
    first = produce(value=2, id="first")
    second = add(inp=first.outputs.out, amount=5, id="second")
    made = context.run(first)
    used = context.run(second)
    assert (made.state, used.state) == (COMPLETE, COMPLETE)
    store = context.store
    runs = store.list_runs("nb")
    assert [r.run_id for r in runs] == [context.run_id]
    assert runs[0].properties["orchestrator"] == "notebook"
    executions = store.run_executions(context.run_id)
    assert [e.node_id for e in executions] == ["first", "second"]
    consumed = store.execution_io(executions[1].id).inputs["inp"]
    assert [a.id for a in consumed] == [a.id for a in made.outputs["out"]]
    assert context.components == [first, second]


def test_running_again_reuses_the_cache(context: InteractiveContext, root: Path) -> None:
    first = produce(value=2, id="first")
    executed = context.run(first)
    again = context.run(first)
    assert again.cached and again.result.cached_from == executed.execution_id
    assert again.outputs["out"][0].id == executed.outputs["out"][0].id
    assert context.run(first, enable_cache=False).state == COMPLETE
    assert len(context.store.list_runs("nb")) == 1
    with InteractiveContext("nb", pipeline_root=str(root)) as later:
        assert later.run(produce(value=2, id="first")).state == CACHED
        assert later.run_id != context.run_id


def test_upstream_must_run_first(context: InteractiveContext, tmp_path: Path) -> None:
    first = produce(value=1, id="first")
    second = add(inp=first.outputs.out, id="second")
    with pytest.raises(InputResolutionError,
                       match=r"node 'second' needs node 'first' \(input 'inp'\), which has not "
                             r"been run in this session; run it first: context.run\(first\)"):
        context.run(second)
    context.run(first)
    rebuilt = produce(value=1, id="first")  # the cell building it ran again
    with pytest.raises(InputResolutionError, match="is another object"):
        context.run(add(inp=rebuilt.outputs.out, id="second"))
    later = produce(id="later").after(second)
    with pytest.raises(InputResolutionError, match=r"needs node 'second' \(after\(\)\)"):
        context.run(later)


def test_a_failing_node_raises_with_its_log(context: InteractiveContext, tmp_path: Path) -> None:
    first = produce(value=1, id="first")
    context.run(first)
    broken = add(inp=first.outputs.out, require=str(tmp_path / "missing"), id="broken")
    with pytest.raises(ExecutorError, match="node 'broken' failed") as failure:
        context.run(broken)
    assert "Traceback" in str(failure.value) and "is missing" in str(failure.value)
    with pytest.raises(InputResolutionError, match="whose last run failed"):
        context.run(add(inp=broken.outputs.out, id="after"))


def test_a_redefined_component_asks_to_rebuild_the_node(notebook: FakeNotebook,
                                                         context: InteractiveContext) -> None:
    notebook.run(IMPORTS + DEFINITIONS)
    notebook.run("old = write_note(text='x')")
    notebook.run(DEFINITIONS.replace('print("wrote", text)', 'print("wrote:", text)'))
    with pytest.raises(DefinitionError, match="earlier definition of 'write_note'"):
        context.run(notebook.old)
    notebook.run("new = write_note(text='x')")
    assert context.run(notebook.new).state == COMPLETE


# ---- show --------------------------------------------------------------------------------------

def test_show_renders_properties_files_and_lineage_escaped(
        notebook: FakeNotebook, context: InteractiveContext,
        capsys: pytest.CaptureFixture[str]) -> None:
    notebook.run(IMPORTS + DEFINITIONS)
    notebook.run("writer = write_note(text='<script>alert(1)</script>')\n"
                 "reader = read_note(note=writer.outputs.note)")
    made = context.run(notebook.writer)
    context.run(notebook.reader)
    page = context.render_html(notebook.writer.outputs.note)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a&lt;b&gt;.txt" in page and "note.json" in page
    assert re.search(r"<code>size</code></td><td[^>]*>25</td>", page)
    assert "produced by write_note (execution" in page
    assert "consumed by read_note (execution" in page
    # every other way of naming the same artifact renders it too
    record = made.outputs["note"][0]
    for same in (record, record.to_artifact(), record.id, notebook.writer, made):
        assert f"NbNote</b> artifact {record.id} " in context.render_html(same)
    summary = made._repr_html_()
    assert "COMPLETE" in summary and "wrote &lt;script&gt;" in summary
    context.show(notebook.reader.outputs.copy)  # no IPython here: plain text
    text = capsys.readouterr().out
    assert "NbNote artifact" in text and "<- produced by read_note" in text
    assert "  text: <script>alert(1)</script>" in text


def test_artifact_types_add_views(monkeypatch: pytest.MonkeyPatch,
                                  context: InteractiveContext) -> None:
    monkeypatch.setattr(notebook_views, "_registered", {})
    monkeypatch.setattr(notebook_views, "VIEWS", {"Examples": [("Shipped", "no_such_module:f")]})
    notebook_views.register_view("Examples", "Values", lambda a: "<i>custom view</i>")

    def broken(artifact: object) -> str:
        raise ValueError("bad <data>")

    notebook_views.register_view("Examples", "Broken", broken)
    result = context.run(produce(value=4, id="first"))
    page = context.render_html(result.outputs["out"][0])
    assert "<i>custom view</i>" in page
    assert "the Broken view failed: ValueError: bad &lt;data&gt;" in page
    assert "cannot load the view no_such_module:f" in page
    assert "value.txt" in page and "produced by first" in page


# ---- export ------------------------------------------------------------------------------------

def test_export_of_imported_components_reuses_the_session_cache(
        context: InteractiveContext, root: Path, tmp_path: Path) -> None:
    value = RuntimeParameter("value", int, default=3)
    first = produce(value=value, id="first")
    second = add(inp=first.outputs.out, amount=4, id="second")
    last = produce(value=9, id="last").after(second)
    for node in (first, second, last):
        context.run(node)
    path = Path(context.export_to_pipeline(str(tmp_path / "exported.py")))
    text = path.read_text()
    assert "from fixture_components import add, produce" in text
    assert "value = RuntimeParameter('value', int, default=3)" in text
    assert "second = add(inp=first.outputs.out, amount=4, id='second')" in text
    assert "last.after(second)" in text
    assert f"root={str(root)!r}" in text
    proc = run_cli("run", str(path), check=True)
    assert "3 succeeded (3 from cache)" in proc.stdout
    with connect(MetadataConfig.for_root(str(root))) as store:
        assert len(store.list_runs("nb")) == 2


def test_export_copies_what_notebook_components_use(notebook: FakeNotebook,
                                                     context: InteractiveContext,
                                                     tmp_path: Path) -> None:
    notebook.run(IMPORTS)
    notebook.run(DEFINITIONS)
    notebook.run("writer = write_note(text='exported', value=2)\n"
                 "reader = read_note(note=writer.outputs.note, id='copy-1')")
    context.run(notebook.writer)
    context.run(notebook.reader)
    path = Path(context.export_to_pipeline(str(tmp_path / "sub" / "exported.py"),
                                           pipeline_root=str(tmp_path / "elsewhere")))
    text = path.read_text()
    assert "import json\nimport os\n\nfrom conveyor import In, Out, Pipeline, component\n" \
           "from conveyor.artifacts import Artifact\n" in text
    assert "InteractiveContext" not in text
    assert "SCALE = 3" in text
    positions = [text.index(s) for s in ("class NbNote(Artifact):", "def scaled(",
                                         "@component\ndef write_note(", "def read_note(",
                                         "writer = write_note(text='exported', value=2)",
                                         "reader = read_note(note=writer.outputs.note, "
                                         "id='copy-1')",
                                         "pipeline = Pipeline(\n    'nb',\n    [writer, reader],")]
    assert positions == sorted(positions)
    proc = run_cli("run", str(path), check=True)
    assert "2 succeeded (0 from cache)" in proc.stdout
    copied = tmp_path / "elsewhere" / "nb" / "copy-1" / "copy"
    (note,) = list(copied.glob("*/note.json"))
    assert json.loads(note.read_text()) == {"text": "exported", "value": 6}


def test_export_refuses_what_a_file_cannot_hold(notebook: FakeNotebook,
                                                context: InteractiveContext,
                                                tmp_path: Path) -> None:
    notebook.run(IMPORTS + DEFINITIONS)
    notebook.run("LOCK = object()\n\n"
                 "@component\n"
                 "def locked(note: Out[NbNote]) -> None:\n"
                 "    assert LOCK is not None\n")
    notebook.run("guarded = locked()")
    context.run(notebook.guarded)
    with pytest.raises(DefinitionError, match="component 'locked': it uses 'LOCK', a object"):
        context.export_to_pipeline(str(tmp_path / "out.py"))


def test_export_refuses_nodes_run_on_replaced_upstream(context: InteractiveContext,
                                                       tmp_path: Path) -> None:
    first = produce(value=1, id="first")
    context.run(first)
    context.run(add(inp=first.outputs.out, id="second"))
    context.run(produce(value=2, id="first"))  # the cell building 'first' ran again
    with pytest.raises(DefinitionError, match="run 'second' again"):
        context.export_to_pipeline(str(tmp_path / "out.py"))


def test_export_details(notebook: FakeNotebook, context: InteractiveContext,
                        tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="nothing to export"):
        context.export_to_pipeline(str(tmp_path / "empty.py"))
    notebook.run(IMPORTS + DEFINITIONS.replace("scaled(value)", "times(value)")
                 + "\ntimes = scaled\n")
    notebook.run("writer = write_note(value=2)")
    context.run(notebook.writer)
    text = export_pipeline(context.components, pipeline_name="nb", pipeline_root="/r",
                           metadata="mysql://user:s3cret@db:3306/mlmd",
                           session_module=notebook.module)
    assert "def scaled(" in text and "\ntimes = scaled\n" in text
    assert "s3cret" not in text
    assert "# metadata: mysql://user@db:3306/mlmd; pass it with --metadata" in text
    namespace: dict[str, Any] = {}
    exec(compile(text, "exported.py", "exec"), namespace)  # runs: every name is defined
    assert namespace["pipeline"].nodes[0].parameters == {"text": "hi", "value": 2}


# ---- the template, in a real kernel ------------------------------------------------------------

def _outputs(nb: Any, tag: str) -> list[Any]:
    for cell in nb.cells:
        if tag in cell.metadata.get("tags", []):
            return list(cell.outputs)
    raise AssertionError(f"no cell tagged {tag!r}")


def _html(outputs: list[Any]) -> str:
    return "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)


# The penguin model half runs in the kernel, then the exported pipeline in a subprocess.
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_template_notebook_runs_in_a_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            root: Path) -> None:
    # jsonschema (under nbformat) imports rfc3987_syntax when installed, which compiles its
    # grammars at import: ~3 s, for URI formats that notebooks never use.
    if "jsonschema" not in sys.modules:
        monkeypatch.setitem(sys.modules, "rfc3987_syntax", None)
    import nbclient
    import nbformat

    # A kernelspec of this very interpreter, so the kernel sees the venv that is under test.
    spec_dir = tmp_path / "jupyter" / "kernels" / "conveyor-test"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "conveyor test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    export = tmp_path / "exported_pipeline.py"
    nb = nbformat.read(TEMPLATE, as_version=4)
    position = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(position + 1, nbformat.v4.new_code_cell(
        f"PIPELINE_ROOT = {str(root)!r}\nEXPORT_PATH = {str(export)!r}\n"
        f"TRAIN_STEPS = {PENGUIN_TRAIN_STEPS}\n"
        f"import sys\nprint(sys.prefix)", metadata={"tags": ["injected-parameters"]}))
    # Transform, Trainer and Evaluator each take a minute on a loaded machine.
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="conveyor-test",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    nbformat.write(nb, tmp_path / "executed.ipynb")  # kept for debugging a failure

    (prefix,) = [o["text"] for o in _outputs(nb, "injected-parameters")]
    assert prefix.strip() == sys.prefix
    assert "COMPLETE" in _html(_outputs(nb, "run-make-table"))
    table = _html(_outputs(nb, "show-table"))
    assert "<b>Table</b> artifact" in table
    assert re.search(r"<code>rows</code></td><td[^>]*>50</td>", table)
    assert "Split-train/data.csv" in table and "Split-eval/data.csv" in table
    assert "produced by make_table (execution" in table
    summary = _html(_outputs(nb, "show-summary"))
    assert "summary.json" in summary and "produced by summarize" in summary
    assert "produced by make_table" in summary  # lineage goes back through the table
    assert "summarized 2 splits" in _html(_outputs(nb, "run-summarize"))
    (rerun,) = _outputs(nb, "rerun")
    assert rerun["text"].strip() == CACHED

    # The data section: CsvExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator on the
    # penguins CSV, in the kernel's process.
    for tag in ("run-example-gen", "run-statistics-gen", "run-example-validator"):
        assert "COMPLETE" in _html(_outputs(nb, tag)), tag
    statistics = _html(_outputs(nb, "show-statistics"))
    assert "<b>ExampleStatistics</b> artifact" in statistics
    examples = dict(re.findall(r"<h4>Split (\w+): (\d+) examples, 8 features</h4>", statistics))
    assert sorted(examples) == ["eval", "train"]
    assert sum(int(n) for n in examples.values()) == 344  # every row of penguins.csv
    for feature in PENGUIN_FEATURES:  # a row of each split's table
        assert len(re.findall(f"<td style='[^']*'>{feature}</td>", statistics)) == 2, feature
    assert "facets-overview" in statistics  # TFDV's own view, embedded
    assert "produced by statistics_gen" in statistics and "produced by csv_example_gen" in \
        statistics
    schema = _html(_outputs(nb, "run-schema-gen"))
    assert "<b>Schema</b> artifact" in schema and "Adelie, Chinstrap, Gentoo" in schema
    anomalies = _html(_outputs(nb, "show-anomalies"))
    assert "<b>ExampleAnomalies</b> artifact" in anomalies
    assert "no anomalies in eval, train" in anomalies
    assert "produced by example_validator" in anomalies
    assert "stopped the run" not in _html(_outputs(nb, "run-example-validator"))

    # The model section: Transform -> Trainer -> LatestBlessedModel -> Evaluator -> Pusher.
    for tag in ("run-transform", "run-trainer", "run-evaluator", "run-pusher"):
        assert "COMPLETE" in _html(_outputs(nb, tag)), tag
    assert "nothing found" in _html(_outputs(nb, "run-resolver"))  # a fresh root
    evaluation = _html(_outputs(nb, "show-evaluation"))
    assert "<b>ModelEvaluation</b> artifact" in evaluation
    assert "BLESSED" in evaluation and "no baseline model" in evaluation
    assert "src='data:image/png;base64," in evaluation  # the per-slice plot, inlined
    header = re.search(r"<tr>(<th[^>]*>slice</th>.*?)</tr>", evaluation)
    assert header is not None, "no per-slice table"
    columns = re.findall(r"<th[^>]*>([^<]*)</th>", header.group(1))
    assert columns[0] == "slice" and {"accuracy", "example_count", "auc[Gentoo]"} <= set(columns)
    slices = re.findall(r"<tr[^>]*><td[^>]*>([^<]*)</td>", evaluation)
    assert sorted(slices) == sorted(PENGUIN_SLICES), slices
    assert "produced by evaluator" in evaluation and "produced by trainer" in evaluation
    blessing = _html(_outputs(nb, "show-blessing"))
    assert "<b>ModelBlessing</b> artifact" in blessing
    assert re.search(r"<b style='color:#1a7f37'>BLESSED</b>", blessing)
    assert "1 threshold configured, passed on every slice" in blessing
    assert "<i>BLESSED: 1 threshold configured, passed on every slice</i>" in \
        _html(_outputs(nb, "run-evaluator"))
    serving = root / "serving" / "penguin"
    assert f"<i>pushed version 1 (stable) to {serving / '1'}</i>" in \
        _html(_outputs(nb, "run-pusher"))
    assert (serving / "1" / "saved_model.pb").is_file()
    assert export.is_file()

    proc = run_cli("run", str(export), check=True, timeout=900)
    # The data and model components, imported by the file, are reused from the session's
    # cache, except where the resolver changes their inputs: it now finds the model the session
    # blessed, so the Evaluator compares against it and the Pusher runs again (and finds that
    # model serving already). The notebook's own components, copied into the file, run again.
    assert "11 succeeded (6 from cache)" in proc.stdout, proc.stdout
    with connect(MetadataConfig.for_root(str(root))) as store:
        session, exported = [r.run_id for r in store.list_runs("notebook-demo")][::-1]
        [model] = [a.id for e in store.run_executions(session) if e.node_id == "trainer"
                   for a in store.execution_io(e.id).outputs["model"]]
        [evaluated] = [e for e in store.run_executions(exported) if e.node_id == "evaluator"]
        [blessing_record] = store.execution_io(evaluated.id).outputs["blessing"]
        assert blessing_record.custom_properties["baseline_model_id"] == model
    assert f"already serving as version 1 (stable) at {serving / '1'}" in proc.stdout
    assert not (serving / "2").exists()


def test_a_resolver_result_says_what_it_found(root: Path) -> None:
    with InteractiveContext("nb", pipeline_root=str(root)) as first:
        first.run(produce(value=1, id="first"))
        latest = first.run(LatestArtifact(type=Examples, producer="first", id="latest"))
        # This session's own outputs are not an earlier run's: nothing found.
        assert "resolved: nothing found: no live Examples of node 'first'" in repr(latest)
        assert "nothing found" in latest._repr_html_()
        [made] = first.store.execution_io(
            first.store.run_executions(first.run_id)[0].id).outputs["out"]
    with InteractiveContext("nb", pipeline_root=str(root)) as later:
        found = later.run(LatestArtifact(type=Examples, producer="first", id="latest"))
        assert [a.id for a in found.outputs["artifact"]] == [made.id]
        assert f"resolved: Examples {made.id} (made in run {first.run_id})" in repr(found)
        assert f"Examples {made.id} (made in run {first.run_id})" in found._repr_html_()


def test_a_result_shows_the_summary_line_of_each_output(context: InteractiveContext) -> None:
    result = context.run(announce(note="3 rows <b>", id="note"))
    [made] = result.outputs["out"]
    assert f"outputs.out: Examples artifact {made.id} {made.uri}\n    wrote 3 rows <b>" in \
        repr(result)
    assert "<br><i>wrote 3 rows &lt;b&gt;</i>" in result._repr_html_()
    assert "<i>" not in context.run(produce(id="plain"))._repr_html_()


def test_execution_result_reads_as_text(context: InteractiveContext) -> None:
    result = context.run(produce(value=1, id="first"))
    assert isinstance(result, ExecutionResult)
    assert repr(result).startswith("first (produce) COMPLETE in ")
    assert os.path.isdir(result.outputs["out"][0].uri)

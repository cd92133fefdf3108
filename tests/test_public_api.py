"""The public import paths: every standard component under ``conveyor.components``, cheaply."""
import importlib
import inspect
from pathlib import Path

from import_check import modules_imported_by

import conveyor.components
from conveyor import Component

COMPONENTS = Path(conveyor.components.__file__).parent


def declared_components() -> dict[str, type[Component]]:
    """Every public component class declared in a folder's component module."""
    found: dict[str, type[Component]] = {}
    for path in sorted(COMPONENTS.glob("*/*component.py")):
        module = importlib.import_module(
            f"conveyor.components.{path.parent.name}.{path.stem}")
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, Component)
                    and value.__module__ == module.__name__ and not name.startswith("_")):
                found[name] = value
    return found


def test_every_standard_component_is_exported_by_the_components_package() -> None:
    declared = declared_components()
    assert {"CsvExampleGen", "StatisticsGen", "Transform", "Trainer", "Evaluator",
            "Pusher"} <= set(declared)
    assert sorted(conveyor.components.__all__) == sorted(declared)
    for name, cls in declared.items():
        assert getattr(conveyor.components, name) is cls


def test_importing_the_components_package_loads_no_heavy_library() -> None:
    assert modules_imported_by(
        "from conveyor.components import CsvExampleGen, Evaluator, Pusher, Trainer",
        ["tensorflow", "apache_beam", "tensorflow_data_validation", "tensorflow_model_analysis",
         "tensorflow_transform", "ml_metadata", "pyarrow", "pandas", "numpy", "sklearn",
         "xgboost", "keras_tuner", "kfp", "airflow"]) == []

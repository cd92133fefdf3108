"""The pipeline definition language: components, channels, parameters and pipelines."""
from conveyor.dsl.channel import Channel, RuntimeParameter
from conveyor.dsl.component import Component
from conveyor.dsl.context import ExecutionContext
from conveyor.dsl.fields import ExternalFiles, In, Input, Out, Output, Parameter
from conveyor.dsl.function import component
from conveyor.dsl.pipeline import Pipeline

__all__ = [
    "Channel", "Component", "ExecutionContext", "ExternalFiles", "In", "Input", "Out", "Output",
    "Parameter", "Pipeline", "RuntimeParameter", "component",
]

"""Example pipelines; hello_pipeline.py is what `make run` runs."""

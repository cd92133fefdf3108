"""ExampleGen: reads CSV, Parquet, TFRecord or SQL sources into Examples (data issue)."""

"""StatisticsGen, SchemaGen and ExampleValidator on TFDV (data issue)."""

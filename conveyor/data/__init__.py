"""Reading and writing the files of data artifacts, shared by every component that touches data.

- :mod:`.layout`: splits (``Split-<name>/``) and the statistics, schema and anomalies files
  (light: only ``tensorflow_metadata`` protos);
- :mod:`.examples`: one split of an Examples artifact (TFRecords of tf.Example or Parquet) as
  Arrow record batches, in process or as a Beam source;
- :mod:`.tf_parsing`: ExampleGen's tf.Examples decoded by TensorFlow's parser (the same batches
  as tfx-bsl's decoder, faster), used by :mod:`.examples` when the feature kinds are recorded.
"""

"""Pusher to TensorFlow Serving model directories (evaluation issue)."""

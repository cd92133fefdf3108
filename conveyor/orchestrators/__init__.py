"""Orchestrators: local (here), notebook, Kubeflow and Airflow. Each decides when and where a
node runs; the launcher in conveyor.runtime decides how."""

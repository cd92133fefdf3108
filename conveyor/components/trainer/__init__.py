"""Trainer for Keras, scikit-learn and XGBoost, and the Tuner (model issue)."""

"""Evaluator on TFMA and InfraValidator (evaluation issue)."""

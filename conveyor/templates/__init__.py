"""Templates rendered by the compilers and notebooks (orchestrator issue)."""

"""ido: an intent-driven orchestrator."""

__version__ = "0.1.0"

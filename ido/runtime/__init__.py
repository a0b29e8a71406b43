"""Runtimes drive the observe → decide → act → record loop."""

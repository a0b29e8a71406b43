"""Example capability implementations that ship with ido (bound from the YAML `run` fields)."""

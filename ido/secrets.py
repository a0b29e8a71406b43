"""Secrets in bindings: `${env:NAME}` resolved at call time, and masked wherever ido writes.

A capability's HTTP URL, headers and JSON body, its shell argv, and an observer's URL and
headers may name environment variables as `${env:NAME}`. The YAML, the journal, traces and
reports only ever hold the reference; the value exists in memory for the call, and every
message, output or error that comes back is masked before ido records it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ido.errors import ExecutionError
from ido.model.resources import SECRET_REFERENCE

MASK = "***"


@dataclass
class Secrets:
    """Resolves references against `environ` (default: the process environment) and
    remembers every value it handed out."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    values: set[str] = field(default_factory=set)

    def expand(self, value: Any) -> Any:
        """`value` with every `${env:NAME}` in its strings replaced; lists and dicts too."""
        if isinstance(value, str):
            return SECRET_REFERENCE.sub(self._lookup, value)
        if isinstance(value, list):
            return [self.expand(v) for v in value]
        if isinstance(value, dict):
            return {k: self.expand(v) for k, v in value.items()}
        return value

    def mask(self, value: Any) -> Any:
        """`value` with every secret handed out so far replaced by `***`, in any string."""
        if not self.values:
            return value
        if isinstance(value, str):
            for secret in sorted(self.values, key=len, reverse=True):
                value = value.replace(secret, MASK)
            return value
        if isinstance(value, list):
            return [self.mask(v) for v in value]
        if isinstance(value, dict):
            return {self.mask(k): self.mask(v) for k, v in value.items()}
        return value

    def _lookup(self, match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in self.environ:
            raise ExecutionError(
                f"environment variable {name} is not set (named as ${{env:{name}}})"
            )
        secret = self.environ[name]
        if secret:
            self.values.add(secret)
        return secret

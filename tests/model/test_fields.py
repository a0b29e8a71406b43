"""`ido.model.fields`: what every user-written model shares."""

from __future__ import annotations

import subprocess
import sys

BUILT = (
    "import ido.model as m; "
    "print(m.Scenario.__pydantic_complete__, m.PolicyTest.__pydantic_complete__); "
    "m.Policy.model_validate({'apiVersion': 'ido/v1', 'kind': 'Policy', "
    "'metadata': {'name': 'p'}, 'spec': {'rules': [{'id': 'r', 'effect': 'deny', 'when': 'true', 'message': 'm'}]}}); "
    "print(m.Policy.__pydantic_complete__, m.Scenario.__pydantic_complete__)"
)


def test_a_model_s_validator_is_built_when_it_is_first_used() -> None:
    """Importing the models built the validators of all 36 (pydantic's, most of the ~60 ms
    the models took), those of scenarios and policy tests too for `ido plan --pddl`, which
    reads neither; now each is built when its model first validates."""
    done = subprocess.run(
        [sys.executable, "-c", BUILT], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "True", "False"]

"""Health beliefs: a Beta posterior on reliability, a blended latency, observed provider health."""

from __future__ import annotations

import math

import pytest

from ido.health import HALF_LIFE, PRIOR_WEIGHT, Evidence, believe

NOW = 1_800_000_000.0


def failures(n: int, at: float = NOW) -> Evidence:
    seen = Evidence()
    for _ in range(n):
        seen = seen.record(False, None, at)
    return seen


def test_without_evidence_the_declared_figures_stand() -> None:
    belief = believe(0.99, 0.8, None, NOW)
    assert (belief.reliability, belief.latency, belief.why) == (0.99, 0.8, "")


def test_each_failure_lowers_the_estimate_as_a_beta_posterior() -> None:
    """The declaration counts as PRIOR_WEIGHT observations; each failure adds one."""
    for n in (1, 2, 5):
        belief = believe(0.99, 0.8, failures(n), NOW)
        assert belief.reliability == pytest.approx(PRIOR_WEIGHT * 0.99 / (PRIOR_WEIGHT + n))
    assert (
        "after 3 failures and 0 successes, the last just now"
        in believe(0.99, 0.8, failures(3), NOW).why
    )


def test_old_failures_fade_with_the_half_life() -> None:
    """One half-life later three failures weigh one and a half."""
    later = believe(0.99, 0.8, failures(3), NOW + HALF_LIFE)
    assert later.reliability == pytest.approx(PRIOR_WEIGHT * 0.99 / (PRIOR_WEIGHT + 1.5))
    assert "after outcomes weighing 1.5 failures and 0 successes (older ones count" in later.why
    assert later.why.endswith(", the last 15m ago")
    much_later = believe(0.99, 0.8, failures(3), NOW + 20 * HALF_LIFE)
    assert much_later.reliability == pytest.approx(0.99, abs=1e-4)


def test_faded_outcomes_are_said_to_be_weighed() -> None:
    """A failure and two successes a half-life ago read "after 0.5 failures and 1 success",
    as if half a call had failed: faded counts are said to be weighed by age, and whole
    ones (nothing faded yet) read as counts."""
    seen = failures(1).record(True, None, NOW).record(True, None, NOW)
    faded = believe(0.99, 0.8, seen, NOW + HALF_LIFE).why
    assert (
        "after outcomes weighing 0.5 failures and 1 success (older ones count for less), "
        "the last 15m ago"
    ) in faded
    fresh = believe(0.99, 0.8, seen, NOW).why
    assert "after 1 failure and 2 successes, the last just now" in fresh


def test_successes_win_back_trust() -> None:
    seen = failures(2)
    for _ in range(20):
        seen = seen.record(True, None, NOW)
    assert believe(0.9, 1.0, seen, NOW).reliability == pytest.approx(
        (PRIOR_WEIGHT * 0.9 + 20) / (PRIOR_WEIGHT + 22)
    )


def test_latency_blends_observed_calls_with_the_declaration() -> None:
    """One 3 s call against a declared 1 s: the estimate moves a fifth of the way."""
    seen = Evidence().record(True, 3.0, NOW)
    belief = believe(0.99, 1.0, seen, NOW)
    assert belief.latency == pytest.approx((PRIOR_WEIGHT * 1.0 + 3.0) / (PRIOR_WEIGHT + 1))
    assert "latency estimate 1.4s (calls averaged 3s)" in belief.why


def test_a_belief_is_told_as_it_is_planned_with() -> None:
    """A 4h training job declared 0.999 reliable, one quick success: the estimate read
    "reliability estimate 1.00" beside "(planned with 0.999)", and "latency estimate
    1.15e+04 s (calls averaged 9.88e-05 s)"; both are written as plans show them."""
    seen = Evidence().record(True, 0.0000988, NOW)
    belief = believe(0.999, 4 * 3600.0, seen, NOW)
    assert belief.why.startswith("reliability estimate 0.999 after 0 failures and 1 success")
    assert "latency estimate 192m (calls averaged <1ms)" in belief.why


def test_observed_provider_health_caps_reliability_and_raises_latency() -> None:
    belief = believe(0.99, 0.5, None, NOW, {"error_rate": 0.3, "latency_p99": 2.5})
    assert belief.reliability == pytest.approx(0.7)
    assert belief.latency == 2.5
    assert "observed error rate 0.30" in belief.why and "observed p99 latency 2.5s" in belief.why


@pytest.mark.parametrize("bad", [True, "high", math.nan, -0.5, None])
def test_malformed_provider_health_is_ignored(bad: object) -> None:
    belief = believe(0.99, 0.5, None, NOW, {"error_rate": bad, "latency_p99": bad})
    assert (belief.reliability, belief.latency) == (0.99, 0.5)


def test_an_error_rate_above_one_is_ignored() -> None:
    assert believe(0.99, 0.5, None, NOW, {"error_rate": 1.5}).reliability == 0.99


def test_a_capability_that_always_failed_stays_plannable() -> None:
    """Reliability never reaches 0, where its risk (−ln) would be infinite."""
    assert believe(0.99, 0.5, None, NOW, {"error_rate": 1.0}).reliability > 0


def test_a_declared_reliability_below_the_floor_is_planned_with_as_written() -> None:
    """1e-10 was raised to 1e-6 silently, so min_success_probability 1e-6 let it through; an
    observed estimate of 0 is raised to the floor, and the belief says so."""
    declared = believe(1e-10, 1.0, None, NOW)
    assert declared.reliability == 1e-10 and declared.why == ""
    observed = believe(0.99, 0.5, None, NOW, {"error_rate": 1.0})
    assert observed.reliability == 1e-6
    assert "planned with 1e-06 at least" in observed.why

"""The shared argument checks: timeouts, run option values, unset and secret options."""

from __future__ import annotations

from typing import Any

import pytest

from managedjob._checks import (
    check_run_values,
    check_timeout,
    drop_unset_options,
    secret_options,
)
from managedjob.exceptions import InvalidInputError


@pytest.mark.parametrize("timeout", [None, 0, 0.5, 10])
def test_good_timeouts(timeout: Any) -> None:
    check_timeout(timeout)


@pytest.mark.parametrize("timeout", ["5", True, float("nan"), -1, [1]])
def test_bad_timeouts_are_named(timeout: Any) -> None:
    with pytest.raises(InvalidInputError, match="timeout") as info:
        check_timeout(timeout)
    assert repr(timeout) in str(info.value)


def test_unset_options_are_dropped() -> None:
    assert drop_unset_options({"shots": 10, "rep_delay": None, "memory": False}) == {
        "shots": 10,
        "memory": False,
    }


@pytest.mark.parametrize("shots", ["100", 1.5, -5, 0, True, float("nan")])
def test_bad_shots_are_named(shots: Any) -> None:
    with pytest.raises(InvalidInputError, match="'shots'") as info:
        check_run_values({"shots": shots})
    assert repr(shots) in str(info.value)


def test_good_values_pass() -> None:
    check_run_values({"shots": 1, "memory": True, "seed_simulator": 3})


def test_memory_must_be_a_bool() -> None:
    with pytest.raises(InvalidInputError, match="'memory'"):
        check_run_values({"memory": "yes"})


def test_secret_looking_options() -> None:
    config = {
        "shots": 1,
        "api_key": "x",
        "token": "y",
        "ibm_password": "z",
        "auth": "w",
        "tokenizer_depth": 3,
        "seed_simulator": 2,
    }
    assert secret_options(config) == ["api_key", "auth", "ibm_password", "token"]

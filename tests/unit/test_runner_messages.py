"""How a failed task's result becomes the one-line message `pi-k8s` prints."""

from __future__ import annotations

from pi_k8s import runner


def _failed(res: dict[str, object]) -> runner.RunEvent | None:
    return runner._translate(
        {
            "event": "runner_on_failed",
            "event_data": {"play": "p", "task": "t", "host": "rpi-1", "res": res},
        }
    )


def test_argument_spec_errors_are_in_the_message() -> None:
    """validate_argument_spec's msg is only a heading; the errors are a list beside it
    (the result shape of ansible-core's validate_argument_spec action)."""
    event = _failed(
        {
            "failed": True,
            "msg": "Validation of arguments failed:\nvalue of k3s_install_source must be one "
            "of: release, mirror, airgap, got: mirorr",
            "argument_errors": [
                "value of k3s_install_source must be one of: release, mirror, airgap, got: mirorr"
            ],
        }
    )
    assert event is not None and event.host == "rpi-1"
    assert event.message == (
        "Validation of arguments failed: value of k3s_install_source must be one of: "
        "release, mirror, airgap, got: mirorr"
    )


def test_other_failures_keep_their_first_line() -> None:
    event = _failed({"failed": True, "msg": "first line\nsecond line"})
    assert event is not None and event.message == "first line"

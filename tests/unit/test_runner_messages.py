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


def test_the_command_record_keeps_only_pi_k8s_variables(tmp_path) -> None:
    """ansible-runner records ansible-playbook's whole environment; the user's goes."""
    import json

    record = tmp_path / "artifacts" / "abc" / "command"
    record.parent.mkdir(parents=True)
    env = {"PATH": "/bin", "ANSIBLE_CONFIG": "/x/ansible.cfg", "REGISTRY_TOKEN": "t0ken-secret"}
    record.write_text(json.dumps({"command": ["ansible-playbook"], "cwd": "/", "env": env}))
    runner._scrub_command_env(tmp_path, {"PATH", "ANSIBLE_CONFIG"})
    data = json.loads(record.read_text())
    assert data == {
        "command": ["ansible-playbook"],
        "cwd": "/",
        "env": {"PATH": "/bin", "ANSIBLE_CONFIG": "/x/ansible.cfg"},
    }
    assert "t0ken-secret" not in record.read_text()
    assert record.stat().st_mode & 0o777 == 0o600

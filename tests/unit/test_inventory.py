"""Role choice, selection, warnings and writing, through the Python API."""

from __future__ import annotations

import os
import random
import stat
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from pi_k8s.errors import SpecError
from pi_k8s.inventory import (
    build_inventory,
    is_armv6,
    load_hosts,
    plan_inventory,
    render_inventory,
    write_inventory,
)
from pi_k8s.models import PiHost
from pi_k8s.spec import parse_spec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inventory"


def _hosts(case: str) -> list[PiHost]:
    return load_hosts(FIXTURES / case / "discovery.json")


def _by_name(hosts: list[PiHost]) -> dict[str, PiHost]:
    return {str(h.hostname): h for h in hosts}


def test_build_inventory_does_not_depend_on_discovery_order() -> None:
    hosts = _hosts("ranking")
    spec = parse_spec("name: lab\nservers: 3\n")
    expected = build_inventory(spec, hosts)
    rng = random.Random(7)
    for _ in range(10):
        shuffled = hosts[:]
        rng.shuffle(shuffled)
        assert build_inventory(spec, shuffled) == expected


def test_ha_takes_the_three_best_ranked_hosts_in_rank_order() -> None:
    plan = plan_inventory(parse_spec("name: lab\nservers: 3\n"), _hosts("ranking"))
    assert [d.name for d in plan.servers] == ["rk-usb", "rk-usb-late", "rk-sd-early"]
    agents = {d.name: d.reason for d in plan.agents}
    assert agents["rk-sd-late"] == (
        "ranked 4 of 6 eligible: same hardware as rk-sd-early, later in MAC order"
    )
    assert agents["rk-armhf-nvme"].endswith("32-bit userland (armhf) where rk-sd-early is arm64")


@pytest.mark.parametrize(
    ("memory_mb", "board_memory_mb", "server"),
    [
        (1848, None, True),  # a 2 GB board's MemTotal, no revision code
        (906, None, False),  # a 1 GB board's MemTotal
        (None, None, False),  # nothing known
        (1848, 2048, True),
        (3797, 1024, False),  # the board's own RAM decides when known
    ],
)
def test_server_memory_threshold(
    memory_mb: int | None, board_memory_mb: int | None, server: bool
) -> None:
    h = replace(
        _by_name(_hosts("single_server"))["pi-b"],
        memory_mb=memory_mb,
        board_memory_mb=board_memory_mb,
    )
    spec = parse_spec("name: lab\n")
    if server:
        assert [d.name for d in plan_inventory(spec, [h]).servers] == ["pi-b"]
    else:
        with pytest.raises(SpecError, match=r"servers: 1 requested, but only 0 of 1") as info:
            plan_inventory(spec, [h])
        assert "never a server unless forced" in info.value.message


def test_a_forced_server_may_be_small() -> None:
    h = _by_name(_hosts("single_server"))["pi-d"]
    plan = plan_inventory(parse_spec("name: lab\noverrides: {pi-d: {role: server}}\n"), [h])
    assert plan.servers[0].reason.startswith("forced by overrides['pi-d']")


def test_warnings_are_returned_not_printed(capsys: pytest.CaptureFixture[str]) -> None:
    plan = plan_inventory(parse_spec("name: lab\nservers: 3\n"), _hosts("ha_three_servers"))
    assert plan.warnings == [
        "32-bit userland (armhf) on pi-d mixed with arm64 on pi-a, pi-e, pi-b, pi-c: every "
        "image must be built for both; reinstall a 64-bit OS on the armhf hosts if you can.",
        "etcd servers without an SSD/NVMe/USB root: pi-e; k3s warns that SD cards cannot "
        "take etcd's write load.",
    ]
    assert capsys.readouterr() == ("", "")


def test_no_warning_when_all_hosts_share_one_userland() -> None:
    hosts = [h for h in _hosts("single_server") if h.hostname in ("pi-a", "pi-b")]
    assert plan_inventory(parse_spec("name: lab\n"), hosts).warnings == []


def test_skipped_hosts_carry_their_reason() -> None:
    plan = plan_inventory(parse_spec("name: lab\n"), _hosts("single_server"))
    skipped = {d.host.ip: d.reason for d in plan.decisions if d.role == "skipped"}
    assert skipped == {
        "192.168.50.20": "not a Raspberry Pi (hosts.include can add it)",
        "192.168.50.1": "not a Raspberry Pi (hosts.include can add it)",
        "192.168.50.16": "SSH probe failed: auth failed",
    }


def test_including_an_unprobed_host_warns() -> None:
    hosts = _hosts("single_server")
    offline = next(h for h in hosts if h.ip == "192.168.50.16")
    named = replace(offline, hostname="pi-f")
    spec = parse_spec("name: lab\nhosts: {include: [pi-a, 192.168.50.16]}\n")
    plan = plan_inventory(spec, [named if h is offline else h for h in hosts])
    assert [d.name for d in plan.agents] == ["pi-f"]
    assert plan.warnings == [
        "pi-f (192.168.50.16) is included but its SSH probe failed (auth failed); its "
        "hardware is unknown and Ansible may not reach it."
    ]


def test_selectors_match_hostnames_without_domain_and_in_any_case() -> None:
    hosts = [
        replace(h, hostname=f"{str(h.hostname).upper()}.local")
        for h in _hosts("ssh_settings")
        if h.hostname
    ]
    spec = parse_spec("name: lab\nhosts: {exclude: [pi-b, pi-c.LOCAL]}\n")
    plan = plan_inventory(spec, hosts)
    assert [d.name for d in plan.servers + plan.agents] == ["PI-A.local"]


def test_stale_excludes_and_overrides_warn() -> None:
    spec = parse_spec(
        "name: lab\nhosts: {exclude: [pi-z, pi-b]}\n"
        "overrides: {pi-b: {role: server}, pi-y: {role: agent}}\n"
    )
    plan = plan_inventory(spec, _hosts("ssh_settings"))
    assert plan.warnings == [
        "hosts.exclude: 'pi-z' matches no discovered host.",
        "overrides['pi-b'] is not selected for the cluster; it is ignored.",
        "overrides['pi-y'] matches no discovered host; it is ignored.",
    ]


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"kernel_arch": "armv6l"}, "its kernel is armv6l"),
        ({"processor": "BCM2835"}, "its SoC is a BCM2835"),
        ({"board_type": "B+"}, "it is a Pi B+"),
        ({"board_type": "Zero W"}, "it is a Pi Zero W"),
        ({"model": "Raspberry Pi Zero W Rev 1.1"}, "it is a Raspberry Pi Zero W Rev 1.1"),
        ({"model": "Raspberry Pi Model B Rev 2"}, "it is a Raspberry Pi Model B Rev 2 (Pi 1)"),
        ({"model": "Raspberry Pi Zero 2 W Rev 1.0", "board_type": "Zero 2 W"}, None),
        ({}, None),
    ],
)
def test_armv6_detection(changes: dict[str, str], why: str | None) -> None:
    base = replace(
        _by_name(_hosts("single_server"))["pi-d"],
        model=None,
        board_type=None,
        processor=None,
        kernel_arch="armv7l",
    )
    assert is_armv6(replace(base, **changes)) == why


def test_known_hosts_path_with_a_space_is_quoted() -> None:
    spec = parse_spec("name: lab\nssh: {known_hosts: '/srv/my keys/known_hosts'}\n")
    data = build_inventory(spec, _hosts("ssh_settings"))
    assert data["all"]["children"]["k3s_cluster"]["vars"]["ansible_ssh_common_args"] == (
        "-o UserKnownHostsFile='/srv/my keys/known_hosts' -o StrictHostKeyChecking=yes"
    )


def test_write_inventory_is_0644_whatever_the_umask_and_replaces_the_file(tmp_path: Path) -> None:
    plan = plan_inventory(parse_spec("name: lab\n"), _hosts("ssh_settings"))
    out = tmp_path / "deep" / "hosts.yml"
    old = os.umask(0o077)
    try:
        write_inventory({"all": {}}, out)
        path = write_inventory(plan.inventory, out, source="cluster.yaml", decisions=plan.decisions)
    finally:
        os.umask(old)
    assert path == out
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert [p.name for p in out.parent.iterdir()] == ["hosts.yml"]
    text = out.read_text()
    assert yaml.safe_load(text) == plan.inventory
    assert text.startswith('# Ansible inventory for the k3s cluster "lab".\n')
    assert "from cluster.yaml;" in text
    assert "#   pi-a                 server  ranked 1 of 3 eligible" in text
    assert "192.168.50.1" not in text.split("---")[0]  # skipped hosts are not in the header


def test_render_without_decisions_has_a_short_header() -> None:
    text = render_inventory({"all": {"children": {"k3s_cluster": {"vars": {"cluster_name": "x"}}}}})
    assert text.splitlines()[:4] == [
        '# Ansible inventory for the k3s cluster "x".',
        "# Rendered by `pi-k8s inventory`; edit the spec",
        "# and render again rather than editing this file.",
        "---",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1]", 'host [0] is not an object with an "ip"'),
        ('[{"hostname": "pi-a"}]', 'host [0] is not an object with an "ip"'),
        ('[{"ip": "10.0.0.300"}]', "host [0] (10.0.0.300):"),
        ('"hosts"', "expected a JSON list of hosts, got str"),
    ],
)
def test_load_hosts_names_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "disc.json"
    path.write_text(content)
    with pytest.raises(SpecError) as info:
        load_hosts(path)
    assert info.value.message.startswith(f"{path}: ")
    assert message in info.value.message


def test_lb_nodes_become_cluster_lb_nodes_by_hostname() -> None:
    hosts = _hosts("ssh_settings")
    by_ip = {h.ip: str(h.hostname) for h in hosts if h.hostname}
    ip = next(ip for ip, name in by_ip.items() if name == "pi-b")
    spec = parse_spec(f"name: lab\nlb_nodes: [{ip}, PI-A, pi-b]\n")
    gv = build_inventory(spec, hosts)["all"]["children"]["k3s_cluster"]["vars"]
    assert gv["cluster_lb_nodes"] == ["pi-b", "pi-a"]
    assert (
        "cluster_lb_nodes"
        not in (
            build_inventory(parse_spec("name: lab\n"), hosts)["all"]["children"]["k3s_cluster"][
                "vars"
            ]
        )
    )


@pytest.mark.parametrize(
    ("spec", "message", "hint"),
    [
        (
            "name: lab\nhosts: {exclude: [pi-b]}\nlb_nodes: [pi-a, pi-b]\n",
            "cluster.yaml: lb_nodes[1]: 'pi-b' names no host selected for the cluster",
            "servicelb would otherwise answer on every node",
        ),
        (
            "name: lab\nlb: metallb\nlb_pool: 10.0.0.240/28\nlb_nodes: [pi-a]\n",
            "lb_nodes chooses servicelb's nodes, but lb is metallb",
            "with lb: metallb leave it out",
        ),
        ("name: lab\nlb_nodes: [not_a host]\n", "lb_nodes[0]", "with lb: metallb leave it out"),
    ],
)
def test_lb_nodes_that_cannot_work_are_refused(spec: str, message: str, hint: str) -> None:
    with pytest.raises(SpecError) as exc:
        plan_inventory(parse_spec(spec), _hosts("ssh_settings"))
    assert message in exc.value.message
    assert exc.value.hint and hint in exc.value.hint

"""Ansible-style inventories and --to host lists."""

from __future__ import annotations

import pytest
from digitkiosk.deploy.device_command import DeviceCommand
from digitkiosk.deploy.errors import DeployError
from digitkiosk.deploy.inventory import expand_ranges, load_inventory, parse_targets

INVENTORY = """
all:
  vars:
    ansible_user: pi
    digitkiosk_cmd: sudo -n digitkiosk
  hosts:
    hq-01: {ansible_host: 10.0.0.1, ansible_port: 2222}
  children:
    lobby:
      vars: {ansible_user: lobbyops}
      hosts:
        lobby-[01:03]:
        lobby-01: {digitkiosk_store: "/srv/models; rm -rf /"}
      children:
        lobby_east:
          hosts:
            lobby-03: {ansible_user: east}
    garage:
      hosts:
        hq-01:
"""


@pytest.fixture()
def inventory(tmp_path):
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY)
    return load_inventory(path)


def test_hosts_groups_and_variable_precedence(inventory):
    assert [h.name for h in inventory.select()] == ["hq-01", "lobby-01", "lobby-02", "lobby-03"]
    assert [h.name for h in inventory.select("lobby")] == ["lobby-01", "lobby-02", "lobby-03"]
    assert [h.name for h in inventory.select("lobby_east")] == ["lobby-03"]
    hq = inventory.select("garage")[0]
    assert (hq.address, hq.port, hq.user) == ("10.0.0.1", 2222, "pi")
    lobby = {h.name: h for h in inventory.select("lobby")}
    assert lobby["lobby-02"].user == "lobbyops" and lobby["lobby-02"].address == "lobby-02"
    assert lobby["lobby-03"].user == "east"
    with pytest.raises(DeployError, match="no group or host 'attic'"):
        inventory.select("attic")


def test_remote_command_is_quoted(inventory):
    host = inventory.select("lobby-01")[0]
    argv = DeviceCommand(host).argv("install", "staging dir/digitnet.json")
    assert argv[:5] == ["sudo", "-n", "digitkiosk", "model", "install"]
    assert "/srv/models; rm -rf /" in argv  # one argument: shlex.join quotes it for the shell


def test_ranges():
    assert expand_ranges("k-[08:10].lan") == ["k-08.lan", "k-09.lan", "k-10.lan"]
    assert expand_ranges("k[a:c]") == ["ka", "kb", "kc"]
    assert expand_ranges("k[1:5:2]") == ["k1", "k3", "k5"]


def test_targets():
    hosts = parse_targets("pi@kiosk-1:2222,kiosk-2,[::1]:2200,kiosk-2")
    assert [(h.address, h.port, h.user) for h in hosts] == [
        ("kiosk-1", 2222, "pi"),
        ("kiosk-2", None, None),
        ("::1", 2200, None),
    ]
    for bad in ("", "-oProxyCommand=x", "a b", "h:99999"):
        with pytest.raises(DeployError):
            parse_targets(bad)


@pytest.mark.parametrize(
    "text", ["all: [1, 2]", "- a\n- b", "all:\n  hosts: [a]", "all:\n  hosts:\n    a: {ansible_port: x}"]
)
def test_malformed_inventory(tmp_path, text):
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(DeployError, match="inventory"):
        load_inventory(path).select()

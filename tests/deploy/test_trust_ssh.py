"""Issue 19, row 4: a host key that differs from a key pinned anywhere — `--known-hosts`,
~/.ssh/known_hosts, or the ssh config's UserKnownHostsFile / GlobalKnownHostsFile — is refused
whatever `--accept-new-host-keys` says (real sshd on 127.0.0.1)."""

from __future__ import annotations

import json

import pytest
from digitkiosk.deploy.cli import main as deploy

pytestmark = pytest.mark.ssh


@pytest.mark.parametrize("option", ["UserKnownHostsFile", "GlobalKnownHostsFile"])
def test_changed_key_pinned_in_the_ssh_config_is_refused_when_accepting_new(
    fleet, make_model, capsys, option
):
    card = make_model("2030.1.1")
    first, second = fleet.devices[0].server, fleet.devices[1].server
    forged = second.host_key_line.replace(f"]:{second.port} ", f"]:{first.port} ")
    pinned = fleet.tmp / "pinned_known_hosts"
    pinned.write_text(forged)
    fleet.ssh_config.write_text(f"Host 127.0.0.1\n    {option} {pinned}\n")
    fleet.known_hosts.write_text("")  # nothing pinned where --known-hosts points
    code = deploy(["push", str(card), "--accept-new-host-keys", "--json", *fleet.args("--group", "kiosk-01")])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert "host key not trusted" in report["hosts"][0]["message"]
    assert fleet.device("kiosk-01").active is None
    assert fleet.known_hosts.read_text() == ""  # the changed key was not recorded
    assert pinned.read_text() == forged


def test_the_very_key_pinned_in_the_ssh_config_is_accepted(fleet, make_model, capsys):
    card = make_model("2030.1.1")
    pinned = fleet.tmp / "pinned_known_hosts"
    pinned.write_text(fleet.devices[0].server.host_key_line)
    fleet.ssh_config.write_text(f"Host 127.0.0.1\n    UserKnownHostsFile {pinned}\n")
    fleet.known_hosts.write_text("")
    code = deploy(["push", str(card), "--json", *fleet.args("--group", "kiosk-01")])
    capsys.readouterr()
    assert code == 0 and fleet.device("kiosk-01").active == "2030.1.1"

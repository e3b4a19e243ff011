"""The installer's inventory checks: a wrong inventory stops the run with one clear message, before any host is
contacted (preflight.yml runs on the controller only)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = ROOT / "ansible"
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


@pytest.fixture(scope="module")
def fake_bundle(tmp_path_factory):
    """What the checks look for in a bundle: VERSION and wheels/."""
    path = tmp_path_factory.mktemp("bundle")
    (path / "VERSION").write_text("0.1.0\n")
    (path / "wheels").mkdir()
    return path


def preflight(inventories: list[Path], bundle: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(bundle / "tmp"), "ANSIBLE_HOME": str(bundle / "home")}
    cmd = [str(PLAYBOOK), *[arg for i in inventories for arg in ("-i", str(i))], str(ANSIBLE / "preflight.yml"),
           "-e", f"atrium_bundle_dir={bundle}", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def message(result: subprocess.CompletedProcess) -> str:
    """The failed assertion's message (the one line an operator reads)."""
    found = re.search(r'"msg": "(.*?)"\}', result.stdout)
    return found.group(1) if found else result.stdout[-2000:]


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("example", ["single", "split"])
def test_the_example_inventories_pass(example, fake_bundle):
    result = preflight([ANSIBLE / "inventories" / example / "hosts.yml"], fake_bundle)
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0\s+unreachable=0\s+failed=0", result.stdout)


def test_site_yml_passes_the_syntax_check(fake_bundle):
    env = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE / "ansible.cfg")}
    result = subprocess.run([str(PLAYBOOK), "--syntax-check", "-i", str(ANSIBLE / "inventories/split/hosts.yml"),
                             str(ANSIBLE / "site.yml")], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def split_inventory(**changes) -> dict:
    data = {"atrium_storage": {"hosts": {"storage1": {"ansible_host": "192.0.2.20", "atrium_site": "hq"}}},
            "atrium_compute": {"hosts": {"web1": {"ansible_host": "192.0.2.21", "atrium_site": "cloud"}}},
            "all": {"vars": {"atrium_public_host": "atrium.example.com", "atrium_data_sites": ["hq"]}}}
    for path, value in changes.items():
        node = data
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return data


CASES = [
    pytest.param(split_inventory(atrium_storage={"hosts": {}}),
                 "needs exactly one host in group atrium_storage", id="no-storage-host"),
    pytest.param(split_inventory(atrium_storage={"hosts": {"s1": {"ansible_host": "192.0.2.1"},
                                                           "s2": {"ansible_host": "192.0.2.2"}}}),
                 "names 2 (s1, s2)", id="two-storage-hosts"),
    pytest.param(split_inventory(atrium_compute={"hosts": {}}),
                 "at least one host in group atrium_compute", id="no-compute-host"),
    pytest.param(split_inventory(all__vars__atrium_public_host=None),
                 "atrium_public_host is not set", id="no-public-host"),
    pytest.param(split_inventory(all__vars__atrium_public_host="not a name"),
                 "which is not a host name", id="bad-public-host"),
    pytest.param(split_inventory(atrium_compute__hosts__web1__ansible_host="web1.example.com"),
                 "must be IP addresses", id="compute-address-not-ip"),
    pytest.param(split_inventory(all__vars__atrium_blob_store_kind="local"),
                 "the compute hosts keep no customer data", id="local-store-in-split"),
    pytest.param(split_inventory(all__vars__atrium_data_sites=["cloud"]),
                 "which is not one of atrium_data_sites (cloud)", id="storage-site-may-not-hold-data"),
    pytest.param(split_inventory(all__vars__atrium_proxy_tls_certificate="/nonexistent/cert.pem"),
                 "Give both atrium_proxy_tls_certificate and atrium_proxy_tls_key", id="certificate-without-key"),
    pytest.param(split_inventory(all__vars__atrium_app_smtp_host="relay.example.com",
                                 all__vars__atrium_app_smtp_security="ssl"),
                 "use none, starttls or tls", id="smtp-security"),
    pytest.param(split_inventory(all__vars__atrium_app_smtp_host="relay.example.com",
                                 all__vars__atrium_app_smtp_port="smtp"),
                 "give the relay's TCP port", id="smtp-port"),
    pytest.param(split_inventory(all__vars__atrium_app_smtp_host="relay.example.com",
                                 all__vars__atrium_app_smtp_username="atrium"),
                 "Give both atrium_app_smtp_username and atrium_app_smtp_password", id="smtp-login-without-password"),
]


@pytest.mark.parametrize("inventory, expected", CASES)
def test_a_wrong_inventory_fails_early_with_one_clear_message(inventory, expected, fake_bundle, tmp_path):
    result = preflight([write(tmp_path / "hosts.yml", inventory)], fake_bundle)
    assert result.returncode != 0
    assert expected in message(result), result.stdout[-3000:]
    assert result.stdout.count("FAILED!") == 1
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0\s+unreachable=0\s+failed=1", result.stdout)


def test_a_missing_bundle_is_named(fake_bundle, tmp_path):
    result = preflight([ANSIBLE / "inventories/single/hosts.yml"], tmp_path / "nowhere")
    assert result.returncode != 0
    assert "No bundle at" in message(result) and "./install.sh" in message(result)


def test_site_yml_checks_the_inventory_before_contacting_any_host(fake_bundle, tmp_path):
    env = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    inventory = write(tmp_path / "hosts.yml", split_inventory(atrium_storage={"hosts": {}}))
    result = subprocess.run([str(PLAYBOOK), "-i", str(inventory), str(ANSIBLE / "site.yml"),
                             "-e", f"atrium_bundle_dir={fake_bundle}"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode != 0
    assert "needs exactly one host in group atrium_storage" in message(result)
    assert "web1" not in result.stdout.split("PLAY RECAP")[-1]   # the host was never contacted


def test_a_complete_smtp_relay_passes(fake_bundle, tmp_path):
    ca = tmp_path / "relay-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    inventory = split_inventory(all__vars__atrium_app_smtp_host="relay.example.com", all__vars__atrium_app_smtp_port=465,
                                all__vars__atrium_app_smtp_security="tls", all__vars__atrium_app_smtp_ca_file=str(ca),
                                all__vars__atrium_app_smtp_username="atrium",
                                all__vars__atrium_app_smtp_password="not-shown-Pa55")
    result = preflight([write(tmp_path / "hosts.yml", inventory)], fake_bundle)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "not-shown-Pa55" not in result.stdout + result.stderr

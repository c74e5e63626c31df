"""A model server opened to the network needs a token: ``workbench serve start --host
0.0.0.0`` (and the server module) refuse to start without one unless told ``--insecure``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import run_workbench
from workbench.errors import ConfigError
from workbench.serving.server import TOKEN_ENV, check_exposure, is_loopback


def test_loopback_addresses_need_no_token():
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert is_loopback(host), host
        assert check_exposure(host, None, insecure=False) is None
    for host in ("0.0.0.0", "::", "10.1.2.3", "192.168.0.7"):
        assert not is_loopback(host), host


def test_a_network_address_needs_a_token_or_insecure():
    with pytest.raises(ConfigError) as err:
        check_exposure("0.0.0.0", None, insecure=False)
    text = str(err.value)
    assert "0.0.0.0" in text and "--token" in text and TOKEN_ENV in text
    assert "--insecure" in text
    assert check_exposure("0.0.0.0", "s3cret", insecure=False) is None
    warning = check_exposure("0.0.0.0", None, insecure=True)
    assert warning and "without a token" in warning and "--insecure" in warning


def test_serve_start_refuses_a_network_host_without_a_token(tmp_path):
    from workbench.serving.process import running
    from workbench.serving.repository import Repository

    repo = Repository(tmp_path / "serving")
    repo.init()
    out = run_workbench("serve", "start", "--host", "0.0.0.0", "--rest-port", "0",
                        "--grpc-port", "0", "--repository", str(repo.root), cwd=tmp_path,
                        env={TOKEN_ENV: ""}, timeout=120)
    assert out.code != 0
    assert "--token" in out.text and TOKEN_ENV in out.text and "--insecure" in out.text
    assert running(repo) is None and not (repo.root / "server.log").exists()


@pytest.mark.slow
def test_the_server_module_refuses_too(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "workbench.serving.server", "--host=0.0.0.0", "--port=0",
         "--rest_api_port=0", "--model_name=m", f"--model_base_path={tmp_path}"],
        capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1
    assert "--insecure" in proc.stderr and TOKEN_ENV in proc.stderr

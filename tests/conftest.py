"""Shared fixtures: a copy of the catalog to break, fake AWS credentials, and no network."""

from __future__ import annotations

import ipaddress
import json
import shutil
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.cli import main  # noqa: E402

# A product whose template troposphere accepts but cfn-lint rejects (a Ref to nothing).
BROKEN_PRODUCT = (
    "from troposphere import Ref, Template, s3\n"
    "from generator.product import Product\n"
    "def template():\n"
    "    t = Template()\n"
    "    t.add_resource(s3.Bucket('B', BucketName=Ref('Missing')))\n"
    "    return t\n"
    "PRODUCT = Product(name='broken-bucket', description='d', owner='o', version='0.1.0', template=template)\n"
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Tests may talk to servers on this machine only (moto's ThreadedMotoServer); nothing else."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        try:
            if isinstance(host, str) and host != "localhost" and not ipaddress.ip_address(host).is_loopback:
                raise OSError(f"network access in a test: {address}")
        except ValueError as exc:  # a host name: resolving it would already leave the machine
            raise OSError(f"network access in a test: {address}") from exc
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def catalog(tmp_path) -> Path:
    """A private copy of the catalog sources, free to modify."""
    root = tmp_path / "catalog"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".venv*")
    for name in ("products", "portfolios", "seedcode"):
        shutil.copytree(ROOT / name, root / name, ignore=ignore)
    return root


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """The repository's catalog built once (with lint) into a temporary dist."""
    out = tmp_path_factory.mktemp("built") / "dist"
    assert main(["--root", str(ROOT), "build", "--out", str(out), "-q"]) == 0
    return out


def load_template(dist: Path, product: str) -> dict:
    return json.loads((dist / "templates" / f"{product}.json").read_text())


def tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}

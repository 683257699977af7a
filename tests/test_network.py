"""The whole pipeline with no network at all: ``unshare -n`` gives the CLI a network namespace with only a loopback
that is down. Upload → transcribe → diarize (real models) → export .docx must still succeed.

CI runs as root, where ``unshare -n`` works; anywhere it does not, this test fails (it must not pass silently).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _unshare() -> str:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("unshare (util-linux) is not installed: this test needs `unshare -n` to cut off the network.")
    probe = subprocess.run([unshare, "-n", "--", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail(
            f"`unshare -n` is not permitted here ({probe.stderr.strip()}): run the tests as root or with "
            "CAP_SYS_ADMIN (CI does), so that the offline pipeline is really checked."
        )
    return unshare


def test_pipeline_runs_without_any_network(tmp_path, whisper_base, council_excerpt):
    unshare = _unshare()
    data = tmp_path / "data"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "MINUTES_DATA_DIR": str(data),
        "MINUTES_WHISPER_MODEL": str(whisper_base),
        "MINUTES_DEVICE": "cpu",
    }

    def offline(*args: str) -> subprocess.CompletedProcess:
        command = [unshare, "-n", "--", sys.executable, "-m", "minutes.cli", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)

    # inside the namespace, nothing is reachable
    check = subprocess.run(
        [unshare, "-n", "--", sys.executable, "-c", "import socket; socket.create_connection(('1.1.1.1', 53), 3)"],
        capture_output=True,
        text=True,
    )
    assert check.returncode != 0, "the network namespace still reaches the network"

    result = offline("transcribe", str(council_excerpt), "--title", "本会議", "--quiet", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["utterances"] and len(payload["speakers"]) >= 2
    target = tmp_path / "会議録.docx"
    result = offline("export", str(payload["meeting_id"]), "--format", "docx", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_bytes()[:2] == b"PK"

"""Running deploy commands: streamed prefixed output, redaction, timeouts killing the process group."""

from __future__ import annotations

import io
import os
import sys
import time

from deploycheck.deploy import run_command
from deploycheck.redact import fingerprint, redactor, register_secret
from deploycheck.report import holds_secret


def python(code: str) -> list[str]:
    """A command running ``code`` with this interpreter."""
    return [sys.executable, "-c", code]


def test_output_is_streamed_line_by_line_with_the_platform_prefix(tmp_path):
    """stdout and stderr lines arrive in order, each prefixed; the exit code and last lines are kept."""
    out = io.StringIO()
    code = "import sys; print('one', flush=True); print('two', file=sys.stderr, flush=True); sys.exit(4)"
    result = run_command(
        python(code), cwd=tmp_path, environ=os.environ, timeout=30, out=out, prefix="[convex] "
    )
    assert out.getvalue() == "[convex] one\n[convex] two\n"
    assert result.exit_code == 4 and not result.ok
    assert result.tail == ("one", "two")
    assert result.describe() == "exited 4"


def test_a_secret_printed_by_a_deploy_command_is_masked(tmp_path):
    """A registered secret the command prints (from its environment) never reaches the output."""
    secret = "tok_" + os.urandom(12).hex()
    register_secret(secret)
    try:
        out = io.StringIO()
        environ = {**os.environ, "DEPLOY_TOKEN": secret}
        code = "import os; print('authorization: Bearer ' + os.environ['DEPLOY_TOKEN'])"
        result = run_command(python(code), cwd=tmp_path, environ=environ, timeout=30, out=out, prefix="[w] ")
        text = out.getvalue()
        assert result.ok
        assert text == "[w] authorization: Bearer ***\n"
        assert not holds_secret(text) and not any(holds_secret(line) for line in result.tail)
        assert fingerprint(secret) not in text
    finally:
        redactor.clear()


def test_a_command_past_its_timeout_is_killed_with_its_process_group(tmp_path):
    """A sleeping command and the child it started are both killed at the timeout."""
    pid_file = tmp_path / "child.pid"
    code = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen(['sleep', '60'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    out = io.StringIO()
    result = run_command(python(code), cwd=tmp_path, environ=os.environ, timeout=1, out=out, prefix="[p] ")
    assert result.timed_out and not result.ok
    assert "timed out after" in result.describe()
    assert out.getvalue().startswith("[p] started")
    child = int(pid_file.read_text())
    for _ in range(100):  # the orphaned child is reaped by init shortly after the kill
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    else:
        raise AssertionError("the child of the timed-out command is still running")


def test_a_command_that_cannot_start_is_reported_not_raised(tmp_path):
    """A missing executable gives a result naming it, exit code None."""
    result = run_command(
        ["no-such-deploy-tool-xyz"], cwd=tmp_path, environ=os.environ, timeout=5, out=io.StringIO()
    )
    assert result.exit_code is None and not result.ok
    assert "could not start 'no-such-deploy-tool-xyz'" in result.describe()

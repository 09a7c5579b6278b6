"""PASS / WARN / FAIL outcomes: deploycheck.warn, the severity marker, exit codes, the summary."""

from __future__ import annotations

import pytest

CHECKS = """
    import pytest
    import deploycheck

    def test_ok():
        assert True

    def test_slow():
        deploycheck.warn("response took 1800 ms")
"""


def test_warn_reports_warn_and_exit_zero(project, write_check):
    """A check calling deploycheck.warn reports W/WARN, is counted as warned, and the run exits 0."""
    write_check(CHECKS)
    result = project.runpytest("-v")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*test_slow WARN*",
            "*= WARN =*",
            "WARN checks/test_checks.py::test_slow - response took 1800 ms",
            "Checks (local): 1 passed, 1 warned, 0 failed",
            "*Verification PASSED with warnings",
        ]
    )
    assert "1 passed, 1 warned" in result.stdout.lines[-1]


def test_fail_on_warn_makes_warnings_fail(project, write_check):
    """With --fail-on-warn a warning makes the exit code 1 and the verdict FAILED."""
    write_check(CHECKS)
    result = project.runpytest("--fail-on-warn")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*Verification FAILED", "*1 passed, 1 warned*"])


def test_severity_warn_turns_failure_into_warning(project, write_check):
    """A failing check marked severity('warn') reports WARN with its failure message; exit 0."""
    write_check(
        """
        import pytest

        @pytest.mark.severity("warn")
        def test_certificate():
            assert 3 > 14, "certificate expires in 3 days"

        @pytest.mark.severity("warn")
        def test_fine():
            assert True
        """
    )
    result = project.runpytest()
    assert result.ret == 0
    assert result.parseoutcomes() == {"passed": 1, "warned": 1}
    result.stdout.fnmatch_lines(["WARN checks/test_checks.py::test_certificate - AssertionError: certificate expires in 3 days"])


def test_severity_warn_at_module_level(project, write_check):
    """A module-level severity('warn') marker applies to every check of the module."""
    write_check(
        """
        import pytest

        pytestmark = pytest.mark.severity("warn")

        def test_broken():
            raise RuntimeError("degraded")
        """
    )
    result = project.runpytest()
    assert result.ret == 0
    assert result.parseoutcomes() == {"warned": 1}


def test_failure_wins_over_warning(project, write_check):
    """A check that warns and then fails is FAILED; the run exits 1 with the FAILED verdict."""
    write_check(
        """
        import deploycheck

        def test_bad():
            deploycheck.warn("first a warning")
            assert False, "then a failure"
        """
    )
    result = project.runpytest()
    assert result.ret == 1
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["Checks (local): 0 passed, 0 warned, 1 failed", "*Verification FAILED"])
    assert "= WARN =" not in result.stdout.str()


def test_warnings_do_not_leak_between_checks(project, write_check):
    """Warnings recorded in one check (even one that errors in setup) never mark the next one."""
    write_check(
        """
        import pytest
        import deploycheck

        @pytest.fixture
        def broken():
            deploycheck.warn("from a failing fixture")
            raise RuntimeError("setup fails")

        def test_a(broken):
            pass

        def test_b():
            pass
        """
    )
    result = project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1)


@pytest.mark.parametrize("args", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_passed_verdict(project, write_check, args):
    """Only passing checks give "Verification PASSED" and exit 0, with and without xdist."""
    write_check("def test_ok():\n    assert True\n")
    result = project.runpytest(*args)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["Checks (local): 1 passed, 0 warned, 0 failed", "*Verification PASSED"])


def test_warn_under_xdist(project, write_check):
    """Under -n 2 warned checks are still counted and listed by the controller."""
    write_check(CHECKS)
    result = project.runpytest("-n", "2")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["WARN checks/test_checks.py::test_slow - response took 1800 ms"])
    assert "1 passed, 1 warned" in result.stdout.lines[-1]

"""Options, fixtures and target parametrization: ids, platform markers and filters, usage errors."""

from __future__ import annotations

TARGET_CHECKS = """
    import pytest

    @pytest.mark.platform("cloudflare-worker")
    def test_worker(target):
        assert target.platform == "cloudflare-worker"

    def test_any(target):
        assert target.env in ("local", "production")

    def test_plain(dc_env):
        assert dc_env.name
"""


def test_ids_name_env_and_resource(project, write_check):
    """Checks run once per matching target, with ids <env>-<resource>."""
    write_check(TARGET_CHECKS)
    result = project.runpytest("--env=production", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "checks/test_checks.py::test_worker[production-log-ingestion]",
            "checks/test_checks.py::test_any[production-log-ingestion]",
            "checks/test_checks.py::test_any[production-app-web]",
            "checks/test_checks.py::test_any[production-example-app]",
            "checks/test_checks.py::test_plain",
        ]
    )


def test_platform_option_filters_targets(project, write_check):
    """--platform keeps only targets on that platform and deselects checks marked for others."""
    write_check(TARGET_CHECKS)
    result = project.runpytest("--env=production", "--platform=cloudflare-pages", "-v")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*test_any[[]production-app-web[]] PASSED*"])
    out = result.stdout.str()
    assert "log-ingestion" not in out.split("short test summary")[0].split("collected")[1]
    assert "1 deselected" in out


def test_module_marker_and_missing_target(project, write_check):
    """A module-level platform marker applies to every check; no target in the env gives a skip with a reason."""
    write_check(
        """
        import pytest

        pytestmark = pytest.mark.platform("cloudflare-pages")

        def test_pages(target):
            assert target.resource == "app-web"
        """
    )
    result = project.runpytest("--env=production")
    assert result.ret == 0
    result.assert_outcomes(passed=1)
    result = project.runpytest("--env=local", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no target on cloudflare-pages in environment 'local'*"])


def test_fixtures_give_config_env_settings(project, write_check):
    """dc_config, dc_env and dc_settings describe the run; --dc-set overrides a setting."""
    write_check(
        """
        def test_fixtures(dc_config, dc_env, dc_settings):
            assert dc_config.project == "demo"
            assert dc_env.name == "production" and dc_env.remote
            app = dc_settings.get("APP_URL")
            assert (app.value, app.source, app.origin) == ("https://staging.example.com", "cli", "--set APP_URL")
        """
    )
    result = project.runpytest("--env=production", "--dc-set", "APP_URL=https://staging.example.com")
    assert result.ret == 0


def test_default_env_comes_from_config(project, write_check):
    """Without --env the config's default_env is verified."""
    write_check("def test_env(dc_env):\n    assert dc_env.name == 'local'\n")
    assert project.runpytest().ret == 0


def test_unknown_env_is_usage_error(project, write_check):
    """An unknown --env is a usage error listing the configured environments."""
    write_check("def test_ok():\n    pass\n")
    result = project.runpytest("--env=prodution")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*unknown name 'prodution'; valid: local, production*did you mean 'production'*"])


def test_unknown_platform_is_usage_error(project, write_check):
    """An unknown --platform is a usage error naming the valid platforms."""
    write_check("def test_ok():\n    pass\n")
    result = project.runpytest("--platform=cloudflare-worke")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*unknown platform 'cloudflare-worke'; valid: cloudflare-pages*did you mean 'cloudflare-worker'*"])


def test_unknown_marker_platform_fails_collection(project, write_check):
    """A platform marker naming an unknown platform is a collection error, not a silent skip."""
    write_check(
        """
        import pytest

        @pytest.mark.platform("convexx")
        def test_x(target):
            pass
        """
    )
    result = project.runpytest()
    assert result.ret == 2
    result.stdout.fnmatch_lines(["*unknown platform 'convexx'*"])


def test_bad_config_is_usage_error_with_every_problem(project, write_check):
    """A broken deploycheck.yaml stops the run before any check with every problem, file and line."""
    (project.path / "deploycheck.yaml").write_text(
        "project: demo\nenvironments:\n  local:\n    remote: maybe\ntargets:\n  WEB:\n    platfrom: cloudflare-pages\n"
    )
    write_check("def test_ok():\n    raise SystemExit('must not run')\n")
    result = project.runpytest()
    assert result.ret == 4
    err = result.stderr.str()
    assert "deploycheck.yaml:4: environments.local.remote" in err
    assert "deploycheck.yaml:7: targets.WEB.platfrom: unknown name 'platfrom'" in err
    assert "did you mean 'platform'" in err
    assert "must not run" not in result.stdout.str()


def test_bad_override_is_usage_error(project, write_check):
    """--dc-set with an unknown name or no '=' is a usage error naming each."""
    write_check("def test_ok():\n    pass\n")
    result = project.runpytest("--dc-set", "APP_ULR=x", "--dc-set", "oops")
    assert result.ret == 4
    err = result.stderr.str()
    assert "expected NAME=VALUE, got 'oops'" in err


def test_without_config_plugin_stays_dormant(pytester):
    """Without a deploycheck.yaml ordinary tests run untouched and no reports are written."""
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == 0
    assert not (pytester.path / "reports").exists()
    assert "deploycheck: env" not in result.stdout.str()


def test_env_without_config_is_usage_error(pytester):
    """--env without any deploycheck.yaml is a usage error."""
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest("--env=production")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*no deploycheck.yaml*"])


def test_options_in_one_group(project):
    """Every deploycheck option is listed under one "deployment verification" group in --help."""
    result = project.runpytest("--help")
    text = result.stdout.str()
    section = text.split("deployment verification:")[1].split("\n\n")[0]
    for option in ("--env", "--platform", "--deploycheck-config", "--fail-on-warn", "--no-reports", "--report-dir", "--dc-set"):
        assert option in section


def test_platform_aliases_are_accepted_like_deploy_and_rollback(project, write_check) -> None:
    """pytest --platform=worker selects the cloudflare-worker checks, as deploy --platform worker does."""
    from deploycheck.deploy.plan import normalize_platform
    from deploycheck.verify import check_platforms

    write_check(
        """
        import pytest

        @pytest.mark.platform("cloudflare-worker")
        def test_worker(target):
            pass

        @pytest.mark.platform("cloudflare-pages")
        def test_pages(target):
            pass
        """
    )
    result = project.runpytest("--env=production", "--platform=worker", "--no-reports", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_worker*PASSED*"])
    assert check_platforms(["worker", "pages"], "--platform") == ("cloudflare-worker", "cloudflare-pages")
    assert normalize_platform("worker") == check_platforms(["worker"], "x")[0]

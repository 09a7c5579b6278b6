"""The environment a deploy command runs with: its own platform's variables, nothing else secret.

``npx convex deploy`` needs ``CONVEX_DEPLOY_KEY``, never ``CLOUDFLARE_API_TOKEN`` or
``GITHUB_TOKEN``; wrangler needs the ``CLOUDFLARE_*`` variables only. A deploy command
therefore gets an allow-list: the variables whose names start with one of its platform's
prefixes (each platform's spec declares them: ``PlatformSpec.environment_prefixes``), plus the
non-secret environment a toolchain needs to run (:data:`PASSED_THROUGH`: PATH, HOME,
locale, temp dirs, Node/npm and proxy settings, CI markers, deploycheck's HTTP bounds).
Everything else, another vendor's credential included, is left out.
"""

from __future__ import annotations

from collections.abc import Mapping

from deploycheck.platforms import get_spec

__all__ = ["PASSED_THROUGH", "PASSED_THROUGH_PREFIXES", "command_environment"]

#: non-secret variables every deploy command gets when they are set
PASSED_THROUGH = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TERM", "TZ", "TMPDIR", "TEMP",
        "TMP", "PWD", "CI", "NO_COLOR", "FORCE_COLOR", "COLORTERM",
        "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy",
        "all_proxy", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
        "PYTHONPATH", "VIRTUAL_ENV", "DEPLOYCHECK_SANDBOX_ADMIN_URL", "SSH_AUTH_SOCK", "GIT_SSH_COMMAND",
    }
)  # fmt: skip
#: prefixes of non-secret variables every deploy command gets (locale, Node, npm, deploycheck's bounds)
PASSED_THROUGH_PREFIXES = (
    "LC_",
    "NODE_OPTIONS",
    "NODE_ENV",
    "NPM_CONFIG_",
    "npm_config_",
    "XDG_",
    "DEPLOYCHECK_HTTP_",
)


def command_environment(platform: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``environ`` a deploy command of ``platform`` may see (see the module docstring)."""
    own = get_spec(platform).environment_prefixes
    return {
        name: value
        for name, value in environ.items()
        if name in PASSED_THROUGH
        or name.startswith(PASSED_THROUGH_PREFIXES)
        or (own and name.startswith(own))
    }

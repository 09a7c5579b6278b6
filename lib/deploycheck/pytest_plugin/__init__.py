"""The pytest plugin: ``pytest --env=production`` runs the deployment checks (loaded via ``pytest11``).

One concern per module, each hook implemented once:

- :mod:`.options`: the command-line options and markers;
- :mod:`.session`: the run's state (every stash key) and when the platforms open;
- :mod:`.collection`: parametrization by target, chain and drift case, markers, selection;
- :mod:`.fixtures`: the checks' fixtures; :mod:`.drift`: the drift cases and fixtures;
- :mod:`.prefetch`: every read and chain started at once, when the first check runs;
- :mod:`.outcomes`: WARN, severity and the redaction of every report;
- :mod:`.reporter`: results.json and the closing summary; :mod:`.dashboard`: the HTML report;
- :mod:`.destructive`: where state-changing checks run; :mod:`.runner`: ``deploycheck verify``.

With a deploycheck.yaml in reach, ``pytest --env=production`` runs the checks in
``checks/`` against production, reports PASS / WARN / FAIL and writes
``reports/report.html``, ``junit.xml`` and ``results.json``. Collection reads files only:
no platform is asked anything until the first check runs.
"""

from __future__ import annotations

from deploycheck.pytest_plugin.fixtures import Expectations, apply_verdict
from deploycheck.pytest_plugin.options import platform_marker
from deploycheck.pytest_plugin.reporter import DRIFT_PROPERTY

#: the plugin's modules, registered with this package by pytest (hooks and fixtures)
pytest_plugins = [
    "deploycheck.pytest_plugin.options",
    "deploycheck.pytest_plugin.session",
    "deploycheck.pytest_plugin.collection",
    "deploycheck.pytest_plugin.fixtures",
    "deploycheck.pytest_plugin.drift",
    "deploycheck.pytest_plugin.outcomes",
]

__all__ = ["DRIFT_PROPERTY", "Expectations", "apply_verdict", "platform_marker"]

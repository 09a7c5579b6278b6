"""Repository-local pytest configuration.

The deploycheck plugin itself loads through its ``pytest11`` entry point (see
pyproject.toml), so nothing is registered here; fixtures of the deployment checks live
in ``checks/conftest.py`` and those of the library's own tests in ``tests/conftest.py``.
"""

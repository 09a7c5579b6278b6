"""Mutation testing of the modules whose mistakes are silent (``python -m mutation``).

The modules and their focused tests are listed in ``mutation/modules.toml``, equivalent
mutants with their reasons in ``mutation/equivalent.toml``; ``docs/mutation-testing.md``
explains how to run it.
"""

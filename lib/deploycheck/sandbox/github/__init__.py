"""sandbox.github."""

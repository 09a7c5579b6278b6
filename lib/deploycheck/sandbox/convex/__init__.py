"""sandbox.convex."""

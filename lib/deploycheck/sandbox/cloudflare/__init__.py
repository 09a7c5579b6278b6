"""sandbox.cloudflare."""

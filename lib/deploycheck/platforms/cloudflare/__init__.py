"""platforms.cloudflare."""

"""``deploycheck sandbox``: serve the local platform emulators, or upload to them.

deploycheck sandbox [--port N]        serve until SIGINT/SIGTERM; prints one JSON line
deploycheck sandbox upload worker --script NAME --dir DIR [--vars]
deploycheck sandbox upload pages --project NAME --dir DIR [--commit SHA] [--branch B]
deploycheck sandbox upload convex --dir DIR [--message TEXT]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--port`` and the ``upload`` subcommands."""
    parser.add_argument(
        "--port", type=int, default=0, help="First port (services on port..port+5); 0 picks free ports"
    )
    sub = parser.add_subparsers(dest="sandbox_command", metavar="COMMAND")
    upload = sub.add_parser("upload", help="Deploy to a running sandbox the way the vendor CLI would")
    targets = upload.add_subparsers(dest="upload_target", metavar="TARGET", required=True)
    worker = targets.add_parser("worker", help="Upload and deploy a Worker script (wrangler deploy)")
    worker.add_argument("--script", required=True, help="Worker script name")
    worker.add_argument(
        "--dir", required=True, type=Path, help="Directory with wrangler.toml and the modules"
    )
    worker.add_argument(
        "--vars", action="store_true", help="Upload wrangler.toml vars instead of keeping them"
    )
    pages = targets.add_parser("pages", help="Create a Pages deployment from a directory (direct upload)")
    pages.add_argument("--project", required=True, help="Pages project name")
    pages.add_argument("--dir", required=True, type=Path, help="Directory of the built site")
    pages.add_argument("--commit", default=None, help="Commit hash recorded on the deployment")
    pages.add_argument("--branch", default="main", help="Branch (the production branch deploys production)")
    convex = targets.add_parser("convex", help="Push Convex functions (convex deploy)")
    convex.add_argument("--dir", required=True, type=Path, help="Convex functions directory")
    convex.add_argument("--message", default=None, help="Push message for the audit log")
    upload.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve the sandbox, or perform one upload and print what it created as JSON."""
    if getattr(args, "sandbox_command", None) == "upload":
        return _upload(args)
    return _serve(int(args.port))


def _serve(port: int) -> int:
    import errno
    import json
    import signal
    import sys
    import threading

    from deploycheck.errors import Problem, UsageError
    from deploycheck.sandbox import Sandbox

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    box = Sandbox(port)
    try:
        try:
            box.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            last = port + 5
            msg = (
                f"a port of {port}-{last} is already in use (another sandbox, or another server, "
                f"listens there); pick a free range with --port N, or --port 0 for free ports"
            )
            raise UsageError([Problem(source="--port", message=msg)]) from None
        sys.stdout.write(json.dumps(box.describe()) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        box.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _upload(args: argparse.Namespace) -> int:
    import json
    import os

    from deploycheck.sandbox import upload

    environ = dict(os.environ)
    result: dict[str, Any]
    if args.upload_target == "worker":
        result = upload.upload_worker(args.script, args.dir, environ, include_vars=args.vars)
    elif args.upload_target == "pages":
        result = upload.upload_pages(args.project, args.dir, environ, commit=args.commit, branch=args.branch)
    else:
        result = upload.upload_convex(args.dir, environ, message=args.message)
    print(json.dumps(result))
    return 0

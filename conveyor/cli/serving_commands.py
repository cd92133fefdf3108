"""``conveyor rollback`` and ``conveyor promote``: move a served model's ``stable`` label.

The work is in :mod:`conveyor.components.pusher.labels`; without ``--server`` nothing imports
TensorFlow, so both answer in well under a second.
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options shared by both commands."""
    parser.add_argument("model_name", help="the model's name in models.config")
    parser.add_argument("--serving-dir", required=True,
                        help="the model base path the Pusher pushed to")
    parser.add_argument("--server", metavar="HOST:PORT",
                        help="TensorFlow Serving gRPC address to send the new config to")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for the server (default 60)")


def rollback(args: argparse.Namespace) -> int:
    """Re-point ``stable`` to the previous good version."""
    from conveyor.components.pusher.labels import rollback as roll_back

    change = roll_back(args.serving_dir, args.model_name, args.server, args.timeout)
    print(f"{change.model_name}: stable {change.previous} -> {change.stable} "
          f"(version {change.previous} marked as rolled back from)")
    _print_server(args)
    return 0


def promote(args: argparse.Namespace) -> int:
    """Move ``stable`` to the canary version."""
    from conveyor.components.pusher.labels import promote as promote_canary

    change = promote_canary(args.serving_dir, args.model_name, args.server, args.timeout)
    previous = change.previous or "none"
    print(f"{change.model_name}: stable {previous} -> {change.stable} (canary promoted)")
    _print_server(args)
    return 0


def _print_server(args: argparse.Namespace) -> None:
    if args.server:
        print(f"server {args.server} reloaded; stable version is AVAILABLE")

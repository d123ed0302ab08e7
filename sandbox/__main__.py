"""Run the sandbox: ``python -m sandbox --port 8001 --customers 200 --seed 1``."""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from sandbox.persist import StateFileError
from sandbox.server import SandboxServer, make_server
from sandbox.settings import parse_fidelity


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Return the parsed command line."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="Partner Center (CSP) API sandbox."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--rate-limit", type=int, default=3000, help="calls per minute (0: no limit)"
    )
    parser.add_argument(
        "--provisioning-delay",
        type=float,
        default=2.0,
        help="seconds before an ordered subscription appears",
    )
    parser.add_argument("--retry-after", type=int, default=None)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument(
        "--page-end-style", choices=("absent", "error2000"), default="absent"
    )
    parser.add_argument(
        "--fidelity",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="play one fidelity switch's answer (repeatable; default: every switch "
        "at its strictest; see GET /_sandbox/fidelity)",
    )
    parser.add_argument(
        "--refresh-token-grace",
        type=int,
        default=None,
        help="seconds a replaced refresh token still works (default: for ever)",
    )
    parser.add_argument(
        "--allow-no-mfa",
        action="store_true",
        help="accept app+user calls without an MFA claim (by default they are "
        "refused: 401 code 10001, or AADSTS5007x with --fidelity mfa_refusal=…)",
    )
    parser.add_argument(
        "--state-file",
        default=None,
        help="load the state from this JSON file if it exists, and save it there "
        "after every change (a restart carries on where it was)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-request log")
    return parser.parse_args(argv)


def _is_loopback(host: str) -> bool:
    """Return whether ``host`` names only this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _server(args: argparse.Namespace) -> SandboxServer:
    """Return the bound server the command line asks for."""
    return make_server(
        args.host,
        args.port,
        args.customers,
        args.seed,
        log_requests=not args.quiet,
        state_file=args.state_file,
        rate_limit_per_minute=args.rate_limit,
        provisioning_delay_seconds=args.provisioning_delay,
        retry_after_seconds=args.retry_after,
        latency_ms=args.latency_ms,
        page_end_style=args.page_end_style,
        **parse_fidelity(args.fidelity),
        refresh_token_grace_seconds=args.refresh_token_grace,
        require_mfa=not args.allow_no_mfa,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGINT or SIGTERM; return the exit status."""
    args = parse_args(argv)
    if not _is_loopback(args.host):
        print(
            f"warning: listening on {args.host}: the /_sandbox control endpoints have "
            "no authentication; anyone who can reach this port can change the state",
            file=sys.stderr,
            flush=True,
        )
    try:
        server = _server(args)
    except (StateFileError, ValueError) as exc:
        print(f"sandbox: {exc}", file=sys.stderr, flush=True)
        return 2
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    server.start()
    with server.state.lock:
        customers, seed = server.state.customer_count, server.state.seed
    loaded = f", state file {args.state_file}" if args.state_file else ""
    print(
        f"sandbox listening on {server.url} "
        f"(customers={customers}, seed={seed}{loaded})",
        flush=True,
    )
    while not stop.wait(0.5):
        pass
    server.stop()
    print("sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CLI: python -m sandbox up|down|status|seed|env."""

from __future__ import annotations

import argparse
import os
import sys
import time

import sandbox
from sandbox.settings import SandboxConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start every server (idempotent) and seed empty databases")
    sub.add_parser("down", help="stop every server")
    sub.add_parser("status", help="show each server's health; exit 1 if any is down")
    sub.add_parser("env", help="print the environment that points jobs at this sandbox")
    run = sub.add_parser(
        "run",
        help="run a command with this sandbox's environment as defaults (exported values win)",
    )
    run.add_argument("argv", nargs=argparse.REMAINDER, help="-- command [args...]")
    seed = sub.add_parser(
        "seed", help="(re)apply seed data; --orders N generates N production orders"
    )
    seed.add_argument("--orders", type=int, default=0)
    seed.add_argument(
        "--materials", type=int, default=None, help="materials for generated orders (default N/10)"
    )
    args = parser.parse_args(argv)
    cfg = SandboxConfig.from_env()

    if args.command == "up":
        started = time.perf_counter()
        for name, seconds in sandbox.up(cfg).items():
            print(f"{name:10} up   {seconds:5.2f}s")
        print(f"sandbox up in {time.perf_counter() - started:.2f}s (state in {cfg.root})")
        if not cfg.default_ports:
            print(
                'not on the default ports: run `eval "$(python -m sandbox env)"` so meltano uses it'
            )
        return 0
    if args.command == "down":
        sandbox.down(cfg)
        print("sandbox down")
        return 0
    if args.command == "env":
        for key, value in cfg.env.items():
            print(f"export {key}={value}")
        return 0
    if args.command == "run":
        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        if not argv:
            parser.error("run needs a command: python -m sandbox run -- CMD [ARGS]")
        os.execvpe(argv[0], argv, {**cfg.env, **cfg.service_env, **os.environ})  # noqa: S606
    if args.command == "seed":
        started = time.perf_counter()
        sandbox.seed(cfg, args.orders, args.materials)
        print(f"seeded in {time.perf_counter() - started:.2f}s (orders generated: {args.orders})")
        return 0
    rows = sandbox.status(cfg)
    for row in rows:
        state = "healthy" if row.healthy else "DOWN"
        print(f"{row.name:10} {state:8} pid={row.pid or '-':<8} {row.address}")
    return 0 if all(r.healthy for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

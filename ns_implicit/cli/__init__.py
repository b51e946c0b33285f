"""The ``ns-implicit`` command line.

Each subcommand lives in its own module exposing ``NAME``, ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``; register it in ``SUBCOMMANDS``.
"""

import argparse
import importlib
import sys

#: module names (inside ``ns_implicit.cli``) of the subcommands, in help order.
SUBCOMMANDS = ("hypergrad", "reproduce", "plot", "check_backend", "check_bounds", "poison")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="ns-implicit",
        description="Hypergradients of nonsmooth fixed points (ITD, AID-FP, AID-CG, exact, NSID, SID).")
    from ns_implicit._version import __version__
    parser.add_argument("--version", action="version", version=f"ns_implicit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args._run(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"ns-implicit {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

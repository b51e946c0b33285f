"""The ``ns-implicit`` command line.

Each subcommand lives in its own module exposing ``NAME``, ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``; register it in ``SUBCOMMANDS``.
"""

import argparse
import importlib
import sys

#: module names (inside ``ns_implicit.cli``) of the subcommands, in help order.
SUBCOMMANDS = ("hypergrad", "tune", "reproduce", "plot", "check_backend", "check_bounds",
               "poison")


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


#: The exceptions a user can cause, reported as one line ``ns-implicit <cmd>: error: ...``
#: with exit status 2: bad values (``ValueError`` and its documented subclasses
#: NotContractiveError, SelectionCapError, NotSymmetricError, NonFiniteError; JSON decoding
#: errors), wrong types (``TypeError``), files (``OSError``; ``EOFError``, ``BadZipFile`` from
#: truncated or corrupt ``.npz``) and float overflow (``ArithmeticError`` minus division by
#: zero). Everything else (IndexError, KeyError, AttributeError, ZeroDivisionError, ...) is a
#: bug in ns_implicit and keeps its traceback so that it gets reported and fixed.
def _user_errors():
    import zipfile
    return (ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile, OverflowError,
            FloatingPointError)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args._run(args)
    except BrokenPipeError:  # the reader went away (`ns-implicit ... | head`): stop quietly
        import os
        try:  # and keep the interpreter's final flush from reporting it again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # no file descriptor behind stdout
            pass
        return 141  # the shell's status for a process ended by SIGPIPE (128 + 13)
    except _user_errors() as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__  # one line
        print(f"ns-implicit {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

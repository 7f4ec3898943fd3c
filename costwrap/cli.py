"""The ``costwrap`` command line: ``costwrap demo`` (more commands arrive with the reports)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``costwrap`` command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="costwrap", description="What every LLM call costs.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("demo", help="run an offline session through the real OpenAI SDK clients")
    args = parser.parse_args(argv)
    if args.command == "demo":
        try:
            from costwrap import _demo
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            print(f"costwrap demo needs the openai extra: pip install 'costwrap[openai]' ({exc})", file=sys.stderr)
            return 2
        try:
            _demo.run()
        except ImportError as exc:
            print(f"costwrap demo needs the openai extra: pip install 'costwrap[openai]' ({exc})", file=sys.stderr)
            return 2
        return 0
    parser.print_help()
    return 1


if __name__ == "__main__":
    sys.exit(main())

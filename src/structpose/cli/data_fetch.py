"""``structpose data fetch NAME|all``: bring a public motion-capture source into the data folder."""
from __future__ import annotations

import argparse

from ..errors import StructposeError
from ._groups import group


def register(sub: argparse._SubParsersAction) -> None:
    from ..data.motion_sources import SOURCES
    p = group(sub, "data").add_parser(
        "fetch", help="download a public motion source (git clone) into the data folder",
        description="Clone a public motion-capture source into $STRUCTPOSE_DATA/motion/NAME (default "
                    "~/.cache/structpose): shallow, sparse, only the motion files.  Needs git and internet; "
                    "offline it says so in one line.  Sources: " + ", ".join(SOURCES) + " (all: every one).")
    p.add_argument("name", help="source name, or 'all'")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.motion_sources import SOURCES, fetch
    names = list(SOURCES) if args.name == "all" else [args.name]
    if args.name != "all" and args.name not in SOURCES:
        raise StructposeError(f"unknown motion source {args.name!r}; known: {', '.join(SOURCES)} or all")
    problems = []
    for n in names:
        try:
            fetch(n)
        except StructposeError as e:
            if len(names) == 1:
                raise
            problems.append(str(e))
    if problems:
        raise StructposeError(" | ".join(problems))
    return 0

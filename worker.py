"""Temporal worker entry point. The debtor workflow and its activities arrive with issue 3; until
then this says so plainly instead of pretending to run."""

from __future__ import annotations

import sys


def main() -> int:
    sys.stderr.write("worker: no workflows yet (issue 3 adds the debtor workflow); see README.md\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())

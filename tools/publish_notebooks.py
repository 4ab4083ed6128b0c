"""Publish the notebook edition to the branch the Colab and Binder buttons open.

    python tools/publish_notebooks.py [--push] [--tree _build/jupyter/publish]

``make publish-notebooks`` runs it (with ``--push`` unless PUSH=0). ghp-import commits the
tree as the *whole* tree of ``repository.branch`` (_config.yml), so the branch must be one that
holds nothing else: this refuses, naming the reason, when the branch is not set, is the branch
checked out here, is ``main`` or ``master``, or already holds files other than a published
edition's (``book/...``, ``requirements.txt``, ``.nojekyll``). Then it commits, and pushes to
``origin`` with ``--push``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import yaml
from make_notebooks import git  # git's answer, "" when there is none

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = ("book/", "requirements.txt", ".nojekyll")  # what a published edition holds
NEVER = ("main", "master")


class Refused(ValueError):
    """Publishing here would overwrite something that is not a published edition."""


def check_branch(repo: Path, branch: object) -> str:
    """``branch`` if ghp-import may replace its whole tree in ``repo``; else Refused, why."""
    if not isinstance(branch, str) or not branch.strip():
        raise Refused(f"repository.branch: expected the name of the branch the launch buttons "
                      f"open (in _config.yml), got {branch!r}")
    if branch in NEVER:
        raise Refused(f"repository.branch: {branch!r} would lose the book's sources: "
                      f"publishing replaces the branch's whole tree; use e.g. 'notebooks'")
    if branch == git(repo, "rev-parse", "--abbrev-ref", "HEAD"):
        raise Refused(f"repository.branch: {branch!r} is the branch checked out here; "
                      f"publishing replaces its whole tree")
    # an existing branch may hold only an earlier edition ("" when there is no such branch)
    other = [f for f in git(repo, "ls-tree", "-r", "--name-only", branch).split()
             if not f.startswith(PUBLISHED)]
    if other:
        raise Refused(f"repository.branch: {branch!r} holds files that are not a published "
                      f"edition ({', '.join(other[:5])}{', ...' if len(other) > 5 else ''})"
                      f"; publishing would delete them")
    return branch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--push", action="store_true", help="push the branch to origin")
    parser.add_argument("--tree", type=Path, default=ROOT / "_build" / "jupyter" / "publish")
    args = parser.parse_args(argv)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    try:
        branch = check_branch(ROOT, (config.get("repository") or {}).get("branch"))
    except Refused as error:
        print(f"publish_notebooks: {error}", file=sys.stderr)
        return 2
    if not (args.tree / "book").is_dir():
        print(f"publish_notebooks: {args.tree}: no notebook edition; run make book first",
              file=sys.stderr)
        return 2
    command = [str(Path(sys.executable).parent / "ghp-import"), "-n", "-b", branch,
               "-m", "The notebook edition for Colab and Binder", str(args.tree)]
    if args.push:
        command.insert(1, "-p")
    done = subprocess.run(command, cwd=ROOT)
    if done.returncode == 0:
        print(f"The notebook edition is on the branch {branch}" +
              (" and pushed to origin" if args.push else " (not pushed: PUSH=0)"))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())

"""`python -m invite.cli …`: the `invite` console script without installing the package."""

from invite.cli.script import main

main()

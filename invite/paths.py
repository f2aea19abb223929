"""Where the project's files are: the repository root, holding templates/, static/ and instance/."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

"""The command line: `flask --app app invite …`, or `invite …` where the package is installed (pip install -e .)."""

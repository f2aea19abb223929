"""bench/workers_profile.py reads py-spy's collapsed stacks into the per-package and per-function counts it reports."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from workers_profile import Profile, frame_name, package_of  # noqa: E402

SITE = "/work/x/.venv/lib/python3.11/site-packages"
STDLIB = "/usr/lib/python3.11"


def test_a_frame_is_named_by_function_and_short_path_without_its_line():
    assert frame_name(f"Connection.execute ({SITE}/sqlalchemy/engine/base.py:1415)") == \
        "Connection.execute (sqlalchemy/engine/base.py)"
    assert frame_name(f"Thread.run ({STDLIB}/threading.py:982)") == "Thread.run (threading.py)"
    assert frame_name("<native>") == "<native>"


def test_packages_are_split_only_where_the_sub_package_says_something():
    assert package_of(f"{SITE}/sqlalchemy/engine/base.py") == "sqlalchemy/engine"
    assert package_of(f"{SITE}/wtforms/fields/core.py") == "wtforms"
    assert package_of(f"{STDLIB}/json/encoder.py") == "json"
    assert package_of(f"{STDLIB}/threading.py") == "threading.py"


def test_own_time_goes_to_the_innermost_frame_and_inclusive_time_to_each_frame_once():
    profile = Profile()
    profile.add([
        f"a ({STDLIB}/threading.py:1);b ({SITE}/flask/app.py:2);c ({SITE}/sqlalchemy/engine/base.py:3) 5\n",
        f"a ({STDLIB}/threading.py:1);b ({SITE}/flask/app.py:2);b ({SITE}/flask/app.py:9) 2\n",
        "not a sample line\n",
    ])
    assert profile.samples == 7
    assert profile.own == {"c (sqlalchemy/engine/base.py)": 5, "b (flask/app.py)": 2}
    assert profile.packages == {"sqlalchemy/engine": 5, "flask/app.py": 2}
    # b is twice on the second stack (recursion or two lines of it): counted once per sample.
    assert profile.inclusive["b (flask/app.py)"] == 7
    assert profile.inclusive["a (threading.py)"] == 7
    assert profile.inclusive["c (sqlalchemy/engine/base.py)"] == 5

"""Bulk invites (issue #9): read a pasted or uploaded list, judge every row, send it as a durable job.

parser.py turns text or a file's bytes into InputRows; preview.py judges them against the org's teams,
members and pending invitations. Both are plain Python (no Flask, no HTTP): the routes fetch what they
need through the Junction client and hand it in. jobs.py stores and runs the job (plain functions on a unit
of work, no Flask; in_app.py gives them the app's queue and app contexts), tasks.py is the queue that wakes
the worker (worker.py), routes.py the pages.
"""

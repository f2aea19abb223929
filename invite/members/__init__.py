"""A member of the org: their page, changing their role and teams, removing them (issue 24).

outcomes.py words what happened (the core records it); forms.py and routes.py are the web pages.
"""

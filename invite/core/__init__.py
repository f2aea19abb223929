"""The rules every channel stands on, with no Flask, Click or Huey in them.

The web pages, the command line and the bulk worker (and any channel added later) turn their input into a
call of invite.services.actions, which applies these: who is acting, a server-issued token per action
(invite.core.tokens), the send limits (invite.core.send_limits) and one vocabulary of outcomes
(invite.core.vocabulary).
"""

"""The web UI: pages rendered by the server over the services, at ``/`` and ``/ui/...``.

What enters: a browser's requests, signed in by a session cookie (``web_sessions``), every
form carrying the session's CSRF token. What leaves: HTML pages (Jinja2 templates from this
package, a little of our own script and style under ``/ui/static``; nothing from another
host). Every page calls the same services as the API, so the same policy decides what a user
may do and the same audit writer records what they did; a page only hides the buttons the
policy would refuse.
"""

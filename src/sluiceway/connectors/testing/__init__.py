"""The conformance suite every connector passes (run by ``tests/connectors/test_conformance``).

``canonical`` builds the type table: one column per canonical Arrow type, with the edge
values that break naive connectors. ``suite`` holds the checks; a connector's known gaps are
declared where it is registered for the suite, as strict xfails.
"""

"""The embedded reference ROR server: a FHIR store, its search engine and (on top) the HTTP app.

It must never import `harness.checks`: the server vendors read to learn what the IG expects
cannot be allowed to grade itself.
"""

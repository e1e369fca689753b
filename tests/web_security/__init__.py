"""The web pages' security suite, run against every framework through one adapter.

See :mod:`tests.web_security.framework` for what an adapter provides; the Flask
blueprint's is :mod:`tests.web_security.flask_adapter`. A framework whose
adapter module is missing, or whose packages are not installed, is skipped.
"""

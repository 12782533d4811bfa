"""Local runner: serves template.yaml's HttpApi routes without Docker (see docs/local-dev.md).

template.py is also what the tests use to build tables, so tables exist in one place only.
"""

"""Shared reads and rules that services and selectors both need.

The plan of a migration, the one definition of "retired" (the catalogue index),
which licences a tenant holds through other channels, the customer list's facts,
the bulk preview's rows and the words shared by the pages. The engine
(`migrations_app.workflow`) sits below and knows none of it.
"""

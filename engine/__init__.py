"""zhicheng engine: the declaration process executed by SpiffWorkflow, persisted and audited.

Imports point one way: webapp -> engine -> calendars. Nothing here imports Flask or webapp.
"""

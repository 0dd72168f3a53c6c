"""The portable export: the whole magazine in one zip a publisher can keep,
read with any tool, import into another Masthead (`import_masthead`), or
take to Ghost (the members CSV).

An operator tool: it sits on top of the domain apps and may import any of
them (core, accounts, newsroom, issues, billing, access); nothing imports it.
The archive's layout is documented in docs/export-format.md, and
docs/export-format.schema.json describes every record.
"""

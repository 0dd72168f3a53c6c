"""Importers by name, for the commands and the admin's Settings → Import.

An importer registers its parser class here; the side files it takes are
the parser's `side_file_names` (what the command's options and the upload
form's extra file fields are called).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Importer:
    name: str  # "ghost"
    label: str  # "Ghost"
    parser_path: str  # dotted path of the Parser subclass
    export_help: str  # what the main file is
    side_file_help: dict  # side file name -> what it is (uploaded files only)

    def parser_class(self):
        from django.utils.module_loading import import_string

        return import_string(self.parser_path)


IMPORTERS: dict[str, Importer] = {}


def register(importer: Importer):
    IMPORTERS[importer.name] = importer
    return importer


def get(name) -> Importer:
    return IMPORTERS[name]


register(
    Importer(
        name="ghost",
        label="Ghost",
        parser_path="masthead.imports.ghost.GhostParser",
        export_help="Ghost's JSON export (Settings → Labs → Export your content)",
        side_file_help={"members": "Ghost's members CSV (Members → Export), optional"},
    )
)

register(
    Importer(
        name="wordpress",
        label="WordPress (with Leaky Paywall)",
        parser_path="masthead.imports.wordpress.WordPressParser",
        export_help="WordPress's export file (Tools → Export → All content), an .xml file",
        side_file_help={
            "subscribers": "Leaky Paywall's subscriber export (Leaky Paywall → Reporting Tool), "
            "optional"
        },
    )
)

register(
    Importer(
        name="substack",
        label="Substack",
        parser_path="masthead.imports.substack.SubstackParser",
        export_help="Substack's export archive (Settings → Exports), a .zip file",
        side_file_help={},
    )
)

from masthead.imports.commanding import ImportCommand


class Command(ImportCommand):
    help = "Import a Substack publication: its export archive (posts and email list)."
    importer = "substack"
    export_help = "Substack's export archive (Settings → Exports), a .zip"
    side_options = {
        "author_name": (
            "--author",
            "the byline for the posts (Substack's export names no authors; default: the "
            "publication's name)",
        ),
    }

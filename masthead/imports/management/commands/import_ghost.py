from masthead.imports.commanding import ImportCommand


class Command(ImportCommand):
    help = "Import a Ghost site: its JSON export, and optionally its members CSV and images folder."
    importer = "ghost"
    export_help = "Ghost's JSON export (Ghost 4, 5 or 6)"
    side_options = {
        "members": ("--members", "Ghost's members CSV"),
        "images": ("--images", "folder of the site's content/images (or the images themselves)"),
    }
    images_option = "images"

from masthead.imports.commanding import ImportCommand
from masthead.imports.records import Access


class Command(ImportCommand):
    help = (
        "Import a WordPress site: its WXR export, and optionally its uploads folder and "
        "Leaky Paywall's subscriber export."
    )
    importer = "wordpress"
    export_help = "WordPress's export file (Tools → Export → All content; WXR 1.0 to 1.2)"
    side_options = {
        "uploads": ("--uploads", "the site's wp-content/uploads folder"),
        "subscribers": ("--subscribers", "Leaky Paywall's subscriber export (CSV)"),
        "default_access": (
            "--default-access",
            f"who may read posts Leaky Paywall leaves to its site-wide restrictions "
            f"({', '.join(a for a in Access.ALL if a != Access.PLANS)}; default: subscribers "
            "where Leaky Paywall is in use, else public)",
        ),
    }
    images_option = "uploads"

from django.core.management.base import BaseCommand

from masthead.exports.archive import write_archive


class Command(BaseCommand):
    help = (
        "Export the whole magazine (articles, pictures, issues, readers, subscriptions "
        "as Stripe references, gifts) to a zip; see docs/export-format.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("out", help="The zip file to write, e.g. magazine.zip.")

    def handle(self, *args, out, **options):
        manifest = write_archive(out)
        counts = ", ".join(f"{count} {name}" for name, count in manifest["counts"].items())
        self.stdout.write(f"Wrote {out}: {counts}.")

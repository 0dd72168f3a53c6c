from django.core.management.base import BaseCommand

from masthead.exports.ghost import write_members_csv


class Command(BaseCommand):
    help = "Write the readers as a members CSV in Ghost's column layout, for Ghost's import."

    def add_arguments(self, parser):
        parser.add_argument("out", help="The CSV file to write, e.g. members.csv.")

    def handle(self, *args, out, **options):
        with open(out, "w", newline="", encoding="utf-8") as handle:
            count = write_members_csv(handle)
        self.stdout.write(f"Wrote {out}: {count} members.")

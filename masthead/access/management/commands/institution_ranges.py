import os
import subprocess
import tempfile
from ipaddress import ip_network
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from masthead.access.institutions import running_networks


def nginx_geo_lines() -> str:
    """The ranges of the institutions whose access runs now, as the body of
    an nginx `geo` block (deploy/nginx/masthead.conf): one `CIDR 1;` each."""
    lines = []
    seen = set()
    for cidr, institution in running_networks(timezone.now()):
        try:
            network = str(ip_network(cidr.strip(), strict=False))
        except ValueError:
            continue  # refused when entered; never written into nginx's config
        if network not in seen:
            seen.add(network)
            lines.append(f"{network} 1;  # {institution.organisation_id}\n")
    return "".join(lines)


class Command(BaseCommand):
    help = (
        "Write the IP ranges of the institutions whose access runs now for nginx's "
        "`geo $masthead_institution` block, so nginx's page cache never answers or keeps "
        "their readers' pages. Without --output, prints them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", help="the file nginx includes; replaced whole")
        parser.add_argument(
            "--then",
            help="a command to run when the file changed, e.g. 'systemctl reload nginx'",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        text = nginx_geo_lines()
        if not options["output"]:
            self.stdout.write(text, ending="")
            return
        output = Path(options["output"])
        if output.exists() and output.read_text() == text:
            return
        # Written beside it and renamed: nginx never reads half a list.
        handle, temporary = tempfile.mkstemp(dir=output.parent, prefix=".institutions-")
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, output)
        self.stdout.write(f"{output}: {text.count(chr(10))} ranges")
        if options["then"]:
            done = subprocess.run(options["then"], shell=True)
            if done.returncode != 0:
                raise CommandError(f"{options['then']!r} failed with status {done.returncode}")

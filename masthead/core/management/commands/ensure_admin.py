import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the first admin account if there is none, and note its login in var/."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="admin@example.com")

    def handle(self, *args, email, **options):
        User = get_user_model()
        login_file = settings.VAR_DIR / "admin-login.txt"
        if User.objects.filter(is_superuser=True).exists():
            if login_file.exists():
                self.stdout.write(login_file.read_text().strip())
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(email=email, password=password, full_name="Site admin")
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        login_file.write_text(f"Admin login: {email} / password: {password}\n")
        login_file.chmod(0o600)
        self.stdout.write(login_file.read_text().strip())

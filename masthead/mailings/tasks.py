# Emails queued before transactional email moved to masthead.core.email name
# their task by this path; the worker still finds it here.
from masthead.core.email import send_templated_email

__all__ = ["send_templated_email"]

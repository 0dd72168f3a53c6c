"""Site-wide pieces every app shares: settings, shared template components,
storage, the task queue helpers and transactional email (`email.send_email`).

Holds no domain models. The bottom floor: every app may import from here;
core imports no other Masthead app. Apps above connect to what core offers
(the `signals.pages_changed` signal) instead.
"""

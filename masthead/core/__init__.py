"""Site-wide pieces: settings, shared template components, the demo magazine.

Holds no domain models. Other apps may import from here; core imports from no
other Masthead app except inside the demo-content command.
"""

"""Service setup after the wizard, ending with Provision: filled in below."""

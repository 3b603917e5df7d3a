"""The setup wizard (/partners/setup/<token>): filled in below."""

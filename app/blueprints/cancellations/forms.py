from app.forms import LecternForm


class CancelRegistrationForm(LecternForm):
    """Only the CSRF token: the button is the confirmation (the page says what it does)."""

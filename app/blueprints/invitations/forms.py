from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, TextAreaField

from app.forms import LecternForm, length, required


class PasteNamesForm(LecternForm):
    names = TextAreaField(
        _l("Participants, one per line"), [required(), length(2_000_000)],
        description=_l("A name, or a name and an email address: Ada Lovelace <ada@example.com>"),
    )


class RoomPasswordForm(LecternForm):
    password = PasswordField(
        _l("Room password"), [length(200)],
        description=_l("Leave empty to remove the password."),
    )

"""Templates translate with gettext bound per render (app/i18n.py): the catalog's text may hold
markup, but what a user typed and is put into it is always escaped."""

import pytest
from flask import render_template_string

from app import create_app

TYPED = '<img src=x onerror="alert(1)">'
ESCAPED = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"


@pytest.mark.parametrize("template", [
    '{{ _("The list %(name)s has been created.", name=typed) }}',
    '{{ ngettext("%(num)d seat for %(name)s", "%(num)d seats for %(name)s", 2, name=typed) }}',
])
def test_a_value_a_user_typed_is_escaped_inside_translated_text(template):
    app = create_app("testing")
    with app.test_request_context():
        html = render_template_string(template, typed=TYPED)

    assert ESCAPED in html
    assert "<img" not in html

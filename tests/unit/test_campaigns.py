"""The rules under email invitations: placeholders, HTML, times, CSV lines, recipients, tokens."""

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from markupsafe import Markup

from app.extensions import db
from app.models import Subscriber, SubscriberList
from app.models.base import utcnow
from app.services import campaigns, subscribers
from tests import factories

VALUES = {"name": "Ada", "title": "Excel", "time": "9:00", "link": "http://localhost/j/abc", "password": "pw"}


@pytest.mark.parametrize("text, expected", [
    ("Hello {name}, {title} at {time}: {link} ({password})", "Hello Ada, Excel at 9:00: http://localhost/j/abc (pw)"),
    ("{foo} and {Name} stay", "{foo} and {Name} stay"),
    ("{name.__class__}", "{name.__class__}"),
    ("{name.__init__.__globals__}", "{name.__init__.__globals__}"),
    ("{name[0]} {0} {} {name!r} {name:>10}", "{name[0]} {0} {} {name!r} {name:>10}"),
    ("{{name}}", "{Ada}"),
    ("unbalanced { name } {name", "unbalanced { name } {name"),
    ("", ""),
])
def test_only_the_five_placeholders_are_filled(text, expected):
    assert campaigns.fill_placeholders(text, VALUES) == expected


def test_a_filled_in_value_is_never_expanded_again():
    values = dict(VALUES, name="{link} {password}")

    assert campaigns.fill_placeholders("Hi {name}", values) == "Hi {link} {password}"


def test_plain_text_becomes_escaped_html_with_line_breaks_and_clickable_addresses():
    html = campaigns.text_to_html('<script>x</script> & "q"\nSee http://localhost/j/a-b_c. Or https://x.example/?a=1&b=2')

    assert isinstance(html, Markup)
    assert html == Markup(
        '&lt;script&gt;x&lt;/script&gt; &amp; &#34;q&#34;<br>\n'
        'See <a href="http://localhost/j/a-b_c">http://localhost/j/a-b_c</a>. '
        'Or <a href="https://x.example/?a=1&amp;b=2">https://x.example/?a=1&amp;b=2</a>'
    )


def test_javascript_addresses_are_not_made_clickable():
    assert "<a" not in campaigns.text_to_html("javascript:alert(1)")


@pytest.mark.parametrize("locale, zone, expected", [
    ("en", "America/New_York", "Tuesday, March 4, 2031, 9:00\u202fAM (Eastern Standard Time)"),
    ("sv", "Europe/Stockholm", "tisdag 4 mars 2031 15:00 (centraleuropeisk normaltid)"),
    ("fr", "Europe/Paris", "mardi 4 mars 2031, 15:00 (heure normale d’Europe centrale)"),
    ("ru", "Asia/Tokyo", "вторник, 4 марта 2031\u202fг., 23:00 (Япония, стандартное время)"),
])
def test_the_start_is_written_in_the_recipients_language_and_time_zone(locale, zone, expected):
    session = SimpleNamespace(starts_at=datetime(2031, 3, 4, 14, 0, tzinfo=timezone.utc))

    assert campaigns.format_start(session, locale, zone) == expected


@pytest.mark.parametrize("name, email, expected", [
    ("Acme Training", "training@acme.example", "Acme Training <training@acme.example>"),
    ("", "training@acme.example", "Acme <training@acme.example>"),
    ("Åsa, Öberg", "asa@acme.example", '"Åsa, Öberg" <asa@acme.example>'),
    ("Acme Training", "", None),
])
def test_the_sender_comes_from_the_organisations_settings(name, email, expected):
    organization = SimpleNamespace(name="Acme", sender_name=name, sender_email=email)

    assert campaigns.sender_of(organization) == expected


def test_pasted_addresses_are_read_one_per_line_with_bad_lines_reported():
    people, problems = campaigns.parse_addresses(
        "Ada Lovelace <ADA@example.com>\n\n  bo@example.com  \nJust a name\n\"Zoe Z\" <zoe@example.com>"
    )

    assert people == [("Ada Lovelace", "ada@example.com"), ("bo@example.com", "bo@example.com"),
                      ("Zoe Z", "zoe@example.com")]
    assert [number for number, _ in problems] == [4]


# CSV lines ----------------------------------------------------------------------------------


def test_csv_lines_are_checked_one_by_one_with_their_line_numbers():
    rows, problems = subscribers.parse_csv(
        'Name,Email,Language\n'
        'Ada,ada@example.com,EN\n'
        '"Lovelace, Ada",ada2@example.com,sv-SE,Europe/Stockholm\n'
        '\n'
        'only-a-name\n'
        'A,b@example.com,en,UTC,extra\n'
        'Ada copy,ADA@example.com\n',
        default_locale="fr",
    )

    assert rows == [
        (2, "Ada", "ada@example.com", "en", None),
        (3, "Lovelace, Ada", "ada2@example.com", "sv", "Europe/Stockholm"),
    ]
    assert [number for number, _ in problems] == [5, 6, 7]
    assert "duplicate of line 2" in str(problems[2][1])


def test_a_first_line_with_an_address_is_data_not_a_header():
    rows, problems = subscribers.parse_csv("Ada;ada@example.com\nBo;bo@example.com;;", default_locale="ro")

    assert [(line, email, locale) for line, _, email, locale, _ in rows] == [
        (1, "ada@example.com", "ro"), (2, "bo@example.com", "ro")
    ]
    assert problems == []


def test_a_header_in_another_language_is_recognised():
    rows, problems = subscribers.parse_csv("Namn,E-post,Språk\nGreta,greta@example.com,sv")

    assert [email for _, _, email, _, _ in rows] == ["greta@example.com"] and problems == []


# Recipients and unsubscribing ---------------------------------------------------------------


def make_list(organization, name, people):
    subscriber_list = SubscriberList(organization_id=organization.id, name=name)
    db.session.add(subscriber_list)
    db.session.flush()
    for name_, email, locale, zone, unsubscribed in people:
        db.session.add(Subscriber(list_id=subscriber_list.id, name=name_, email=email, locale=locale,
                                  timezone=zone, unsubscribed_at=utcnow() if unsubscribed else None))
    db.session.commit()
    return subscriber_list


def test_recipients_come_once_each_and_skip_whoever_unsubscribed_from_any_list(app):
    organization = factories.make_organization(locale="sl", timezone="Europe/Ljubljana")
    customers = make_list(organization, "Customers", [
        ("Ada", "ada@example.com", "en", "America/New_York", False),
        ("Boris", "boris@example.com", "ru", None, True),
    ])
    make_list(organization, "Partners", [
        ("Ada (partner)", "ada@example.com", "fr", None, True),  # unsubscribed here: left out everywhere
        ("Greta", "greta@example.com", "sv", None, False),
    ])

    recipients, problems, skipped = campaigns.recipients_for(
        organization, customers,
        "Greta G <greta@example.com>\nBoris <boris@example.com>\nNew Person <new@example.com>",
    )

    assert [(r.name, r.email, r.locale, r.timezone) for r in recipients] == [
        ("Greta G", "greta@example.com", "sv", "Europe/Ljubljana"),  # pasted, known from a list
        ("New Person", "new@example.com", "sl", "Europe/Ljubljana"),  # pasted, unknown: the site's
    ]
    assert recipients[0].subscriber_id is not None and recipients[1].subscriber_id is None
    assert problems == [] and skipped == 2


def test_another_organisations_unsubscriptions_do_not_count(app):
    mine, theirs = factories.make_organization(), factories.make_organization()
    make_list(theirs, "Theirs", [("Ada", "ada@example.com", "en", None, True)])

    recipients, _, skipped = campaigns.recipients_for(mine, None, "ada@example.com")

    assert [r.email for r in recipients] == ["ada@example.com"] and skipped == 0


def test_an_unsubscribe_token_names_its_subscriber_and_nothing_else(app):
    subscriber_list = make_list(factories.make_organization(), "L", [("Ada", "ada@example.com", "en", None, False)])
    [ada] = subscriber_list.subscribers
    token = subscribers.unsubscribe_token(ada, "secret")

    assert subscribers.subscriber_for_token(token, "secret") == ada
    assert subscribers.subscriber_for_token(token, "another secret") is None
    assert subscribers.subscriber_for_token(token + "x", "secret") is None
    assert subscribers.subscriber_for_token(subscribers._serializer("secret").dumps("1"), "secret") is None
    assert subscribers.subscriber_for_token(subscribers._serializer("secret").dumps(10_000), "secret") is None


def test_unsubscribing_twice_keeps_the_first_time(app):
    subscriber_list = make_list(factories.make_organization(), "L", [("Ada", "ada@example.com", "en", None, False)])
    [ada] = subscriber_list.subscribers
    first = datetime(2030, 1, 1, tzinfo=timezone.utc)

    subscribers.unsubscribe(ada, now=first)
    subscribers.unsubscribe(ada, now=datetime(2030, 2, 1, tzinfo=timezone.utc))

    assert ada.unsubscribed_at == first


def test_a_reimport_does_not_resubscribe_someone_who_unsubscribed(app):
    subscriber_list = make_list(factories.make_organization(), "L", [("Ada", "ada@example.com", "en", None, True)])

    result = subscribers.import_csv(subscriber_list, "Ada Lovelace,ada@example.com,fr")

    [ada] = subscriber_list.subscribers
    assert (result.added, result.updated) == (0, 1)
    assert (ada.name, ada.locale) == ("Ada Lovelace", "fr") and ada.unsubscribed_at is not None

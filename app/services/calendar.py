"""Calendar (.ics) invitations for confirmed registrations (RFC 5545, via icalendar)."""

from icalendar import Calendar, Event

from app.models.base import utcnow


def session_ics(session, registration_id, url, domain):
    calendar = Calendar()
    calendar.add("prodid", "-//Lectern//Training sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"registration-{registration_id}@{domain}")
    event.add("dtstamp", utcnow())
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", session.title)
    event.add("description", f"{session.description}\n\n{url}".strip())
    event.add("url", url)
    calendar.add_component(event)
    return calendar.to_ical().decode()

"""No N+1 queries: the benchmarked pages send as many SQL statements with a lot of data as with
a little (bench/run.py prints the same counts at full scale)."""

from app.services import demo
from bench import pages as bench_pages
from bench.query_counts import queries_per_page
from bench.scale_data import scale_up


def test_benchmarked_pages_send_as_many_statements_with_ten_times_the_data(app):
    app.config["WTF_CSRF_ENABLED"] = False  # the counting client posts forms without a token
    demo.load()
    pages = bench_pages.prepare(app.config["SECRET_KEY"])
    small = queries_per_page(app, pages, bench_pages.HOST_EMAIL)

    scale_up(sessions=60, registrations=600, invitations=1200)
    large = queries_per_page(app, pages, bench_pages.HOST_EMAIL)

    assert large == small
    # The coupon partial is the busiest page (14): it locks the session and order, re-applies
    # the coupon and the site's tax rules, and shows the seat hold (registration, payments).
    assert max(small.values()) <= 14, small

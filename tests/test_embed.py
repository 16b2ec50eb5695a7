"""Embedding (SPEC §10): `/{handle}/{name}/?embed=1` in another site's `<iframe>`.

Only the account's `embedOrigins` may frame it (CSP `frame-ancestors`, no X-Frame-Options);
every other page, and every page without `?embed=1`, keeps `frame-ancestors 'none'` and
`X-Frame-Options: DENY`. Booking inside the frame needs no cookie (a signed form token), the
flow's links and redirects keep `embed=1` and the parent's origin, and the confirmation page
names the booking for the `postMessage` to the parent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client

from scheduler import embed
from scheduler.admin.accounts import AccountForm
from scheduler.models import Booking, Organization, Profile
from tests.factory import make_account, make_booking, make_profile

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday; default hours Mon–Fri 09–17 UTC
SHOP = "https://shop.example"
LOCAL = "http://127.0.0.2:8080"
SLOT = "2026-03-02T10:00:00Z"
PAGE = "/ada/intro/"


@pytest.fixture(autouse=True)
def frozen():
    cache.clear()
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def account(db):
    return make_account(
        handle="ada", name="Ada Host", email="ada@example.com", embed_origins=[SHOP, LOCAL]
    )


@pytest.fixture
def profile(account):
    return make_profile(account, name="intro", subject="Intro about {{topic}}")


@pytest.fixture
def strict() -> Client:
    """A browser in a cross-site frame: no cookie ever reaches the server, and CSRF is
    checked as in production."""
    return Client(enforce_csrf_checks=True)


def html_of(response) -> str:
    return response.content.decode()


def ancestors(response) -> str:
    policy = response["Content-Security-Policy"]
    found = [d.strip() for d in policy.split(";") if d.strip().startswith("frame-ancestors")]
    assert len(found) == 1, policy
    return found[0]


def assert_embeddable(response, origins: tuple[str, ...] = (SHOP, LOCAL)) -> None:
    assert ancestors(response) == "frame-ancestors " + " ".join(origins)
    assert not response.has_header("X-Frame-Options")
    # The rest of the policy is untouched.
    assert "script-src 'self'" in response["Content-Security-Policy"]


def assert_not_embeddable(response) -> None:
    assert response["X-Frame-Options"] == "DENY"
    if response.has_header("Content-Security-Policy"):
        assert ancestors(response) == "frame-ancestors 'none'"


def internal_links(html: str) -> list[str]:
    """Every link and form target of a page on this site, but static files and downloads."""
    found = re.findall(r'(?:href|action)="(/[^"]*)"', html)
    return [unescape(u) for u in found if not u.startswith("/static/") and ".ics" not in u]


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def embedded_query(url: str, parent: str = SHOP) -> bool:
    query = query_of(url)
    return query.get("embed") == ["1"] and query.get("parent") == [parent]


def form_fields(html: str) -> dict[str, str]:
    """The hidden inputs of the booking form."""
    form = html[html.index('<form method="post"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def book_data(fields: dict[str, str], **extra: str) -> dict[str, str]:
    data = {**fields, "name": "Bea Guest", "email": "bea@example.com", "var_topic": "Plans"}
    data.update(extra)
    return data


def embedded_form(client: Client, parent: str = SHOP) -> tuple[str, dict[str, str]]:
    """The embedded page with SLOT chosen: (its address, the form's hidden fields)."""
    address = f"{PAGE}?embed=1&parent={parent}&slot={SLOT}"
    response = client.get(address)
    assert response.status_code == 200
    return address, form_fields(html_of(response))


def post_url(html: str) -> str:
    return unescape(re.search(r'<form method="post" action="([^"]+)"', html).group(1))


# --- which pages may be framed -----------------------------------------------------------


def test_without_embed_the_page_keeps_deny(client, profile):
    response = client.get(PAGE)
    assert_not_embeddable(response)
    html = html_of(response)
    assert 'class="embedded"' not in html and "embed.js" not in html
    assert "embed=1" not in html


def test_embedded_page_may_be_framed_by_exactly_the_accounts_origins(client, profile):
    response = client.get(PAGE + "?embed=1")
    assert response.status_code == 200
    assert_embeddable(response)
    html = html_of(response)
    assert 'class="embedded"' in html
    assert "/static/js/embed.js" in html
    assert f'data-embed-origins="{SHOP} {LOCAL}"' in html


def test_embedded_page_shows_no_header_navigation_or_footer(client, profile):
    plain = html_of(client.get(PAGE))
    html = html_of(client.get(PAGE + "?embed=1"))
    assert "<footer" in plain
    assert "<footer" not in html and "<nav" not in html
    assert "<main" in html and "Intro about" in html


def test_an_account_without_origins_is_never_framed(client, profile, account):
    account.embed_origins = []
    account.save()
    response = client.get(PAGE + "?embed=1")
    assert response.status_code == 200
    assert_not_embeddable(response)
    assert 'class="embedded"' not in html_of(response)


@pytest.mark.parametrize("value", ["0", "true", "yes", ""])
def test_only_embed_1_embeds(client, profile, value):
    assert_not_embeddable(client.get(f"{PAGE}?embed={value}"))


def test_an_origin_not_in_the_list_gets_no_embedding(client, profile):
    # Its page may ask, but the policy names only the account's origins, so the browser
    # refuses the frame; and the page never takes it for its parent.
    response = client.get(
        PAGE + "?embed=1&parent=https://evil.example", HTTP_REFERER="https://evil.example/page"
    )
    assert_embeddable(response)
    html = html_of(response)
    assert "evil.example" not in response["Content-Security-Policy"]
    assert "evil.example" not in html
    assert 'data-embed-parent=""' in html


def test_one_allowed_origin_is_the_parent(client, profile, account):
    account.embed_origins = [SHOP]
    account.save()
    response = client.get(PAGE + "?embed=1")
    assert_embeddable(response, (SHOP,))
    assert f'data-embed-parent="{SHOP}"' in html_of(response)


def test_the_first_framed_request_learns_its_parent_from_the_referer(client, profile):
    response = client.get(PAGE + "?embed=1&lang=de", HTTP_REFERER=f"{LOCAL}/shop/book.html")
    assert response.status_code == 302
    assert_embeddable(response)
    target = response["Location"]
    assert urlsplit(target).path == PAGE
    assert query_of(target) == {"embed": ["1"], "lang": ["de"], "parent": [LOCAL]}
    page = client.get(target, HTTP_REFERER=f"{LOCAL}/shop/book.html")
    assert page.status_code == 200
    assert f'data-embed-parent="{LOCAL}"' in html_of(page)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/ada/",
        "/ada/nobody/?embed=1",  # no such profile: no account to ask
        "/admin/login/?embed=1",
        "/v1/docs?embed=1",
    ],
)
def test_every_other_page_keeps_deny(client, profile, path):
    response = client.get(path)
    assert response.status_code in (200, 404), path
    assert_not_embeddable(response)


def test_an_inactive_profiles_page_is_embeddable_to_say_so(client, profile):
    profile.active = False
    profile.save()
    response = client.get(PAGE + "?embed=1")
    assert response.status_code == 404
    assert_embeddable(response)


def test_a_group_profile_is_not_embeddable(client, account):
    # embedOrigins belong to accounts; an organization's pages keep DENY.
    org = Organization.objects.create(handle="team", name="Team")
    Profile.objects.create(organization=org, name="sales", start_after_minutes=0)
    assert_not_embeddable(client.get("/team/sales/?embed=1"))


# --- the flow keeps embed ------------------------------------------------------------------


def test_every_link_and_form_of_the_embedded_page_keeps_embed(client, profile):
    html = html_of(client.get(f"{PAGE}?embed=1&parent={SHOP}&slot={SLOT}"))
    links = internal_links(html)
    assert len(links) > 10  # days, times, months, the booking form
    assert [u for u in links if not embedded_query(u)] == []
    # The zone form (GET) carries them as hidden inputs.
    zone_form = html[html.index('class="zone-form"') :]
    zone_form = zone_form[: zone_form.index("</form>")]
    assert 'name="embed" value="1"' in zone_form
    assert f'name="parent" value="{SHOP}"' in zone_form


def test_language_and_clock_ride_along_since_their_cookies_cannot(client, profile):
    html = html_of(client.get(f"{PAGE}?embed=1&parent={SHOP}&lang=de&clock=12"))
    links = internal_links(html)
    assert links and all(query_of(u).get("lang") == ["de"] for u in links)
    assert all(query_of(u).get("clock") == ["12"] for u in links)


def test_the_form_carries_a_token_and_no_csrf_cookie(strict, profile):
    response = strict.get(f"{PAGE}?embed=1&parent={SHOP}&slot={SLOT}")
    html = html_of(response)
    fields = form_fields(html)
    assert fields.get(embed.TOKEN_FIELD)
    assert "csrfmiddlewaretoken" not in html
    assert not response.cookies  # nothing to keep: a framed page gets no cookies anyway
    assert embedded_query(post_url(html))


def test_embedded_booking_works_without_any_cookie(strict, profile):
    address, fields = embedded_form(strict)
    strict.cookies.clear()
    response = strict.post(f"{PAGE}?embed=1&parent={SHOP}", book_data(fields))
    assert response.status_code == 302, html_of(response)[:500]
    booking = Booking.objects.get()
    assert booking.start == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert_embeddable(response)
    # The redirect keeps the page embedded, for the same parent.
    target = response["Location"]
    assert target.startswith(f"/bookings/{booking.manage_token()}/")
    assert embedded_query(target) and query_of(target)["done"] == ["booked"]
    strict.cookies.clear()
    page = strict.get(target)
    assert page.status_code == 200
    assert_embeddable(page)
    assert page["Cache-Control"] == "no-store"
    html = html_of(page)
    # What static/js/embed.js posts to the parent: {type: "booking.created", uid}.
    assert f'data-booking-created="{booking.uid}"' in html
    assert f'data-embed-parent="{SHOP}"' in html
    assert "/static/js/embed.js" in html
    assert "<footer" not in html and "<nav" not in html
    assert [u for u in internal_links(html) if not embedded_query(u)] == []


def test_the_confirmation_names_the_booking_only_once_booked_and_embedded(client, profile):
    booking = make_booking(
        profile, datetime(2026, 3, 2, 11, tzinfo=UTC), datetime(2026, 3, 2, 11, 30, tzinfo=UTC)
    )
    token = booking.manage_token()
    assert "data-booking-created" not in html_of(client.get(f"/bookings/{token}/?done=booked"))
    embedded = html_of(client.get(f"/bookings/{token}/?embed=1&parent={SHOP}"))
    assert "data-booking-created" not in embedded  # the manage page, later: no new booking


def test_a_booking_page_without_embed_keeps_deny(client, profile):
    booking = make_booking(
        profile, datetime(2026, 3, 2, 11, tzinfo=UTC), datetime(2026, 3, 2, 11, 30, tzinfo=UTC)
    )
    token = booking.manage_token()
    for path in ("", "cancel/", "reschedule/"):
        assert_not_embeddable(client.get(f"/bookings/{token}/{path}?done=booked"))
        assert_embeddable(client.get(f"/bookings/{token}/{path}?embed=1"))


def test_cancel_and_reschedule_inside_the_frame_without_cookies(strict, profile):
    booking = make_booking(
        profile, datetime(2026, 3, 2, 11, tzinfo=UTC), datetime(2026, 3, 2, 11, 30, tzinfo=UTC)
    )
    manage = f"/bookings/{booking.manage_token()}/"
    # Reschedule: the picker's links and the form keep embed; the move needs no cookie.
    html = html_of(strict.get(f"{manage}reschedule/?embed=1&parent={SHOP}&slot={SLOT}"))
    assert [u for u in internal_links(html) if not embedded_query(u)] == []
    fields = form_fields(html)
    strict.cookies.clear()
    moved = strict.post(post_url(html), {**fields, "slot": SLOT})
    assert moved.status_code == 302, html_of(moved)[:300]
    assert embedded_query(moved["Location"]) and "done=rescheduled" in moved["Location"]
    booking.refresh_from_db()
    assert booking.start == datetime(2026, 3, 2, 10, tzinfo=UTC)
    # Cancel, the same way.
    html = html_of(strict.get(f"{manage}cancel/?embed=1&parent={SHOP}"))
    strict.cookies.clear()
    cancelled = strict.post(post_url(html), form_fields(html))
    assert cancelled.status_code == 302
    assert embedded_query(cancelled["Location"]) and "done=cancelled" in cancelled["Location"]
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


# --- the form token ------------------------------------------------------------------------


def test_a_post_without_token_or_cookie_is_refused_by_csrf(strict, profile):
    response = strict.post(f"{PAGE}?embed=1&parent={SHOP}", book_data({"slot": SLOT}))
    assert response.status_code == 403
    assert not Booking.objects.exists()


def test_the_plain_page_keeps_the_csrf_cookie_check(strict, profile):
    html = html_of(strict.get(f"{PAGE}?slot={SLOT}"))
    assert "csrfmiddlewaretoken" in html and embed.TOKEN_FIELD not in html
    fields = form_fields(html)
    strict.cookies.clear()
    assert strict.post(PAGE, book_data(fields)).status_code == 403
    assert not Booking.objects.exists()


def test_a_tampered_token_is_refused(strict, profile):
    _, fields = embedded_form(strict)
    token = fields[embed.TOKEN_FIELD]
    fields[embed.TOKEN_FIELD] = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = strict.post(f"{PAGE}?embed=1&parent={SHOP}", book_data(fields))
    assert response.status_code == 403
    assert not Booking.objects.exists()
    # A page the frame can show, offering to start again (still embedded).
    assert_embeddable(response)
    html = html_of(response)
    assert "This form has expired" in html
    assert embedded_query(internal_links(html)[0])


def test_an_expired_token_is_refused(strict, profile, frozen, settings):
    _, fields = embedded_form(strict)
    frozen.shift(timedelta(seconds=settings.EMBED_FORM_TOKEN_SECONDS + 1))
    response = strict.post(f"{PAGE}?embed=1&parent={SHOP}", book_data(fields))
    assert response.status_code == 403
    assert not Booking.objects.exists()


def test_a_fresh_token_of_its_age_limit_still_works(strict, profile, frozen, settings):
    _, fields = embedded_form(strict)
    frozen.shift(timedelta(seconds=settings.EMBED_FORM_TOKEN_SECONDS - 60))
    response = strict.post(f"{PAGE}?embed=1&parent={SHOP}", book_data(fields))
    assert response.status_code == 302


def test_a_token_is_bound_to_its_page(strict, profile, account):
    make_profile(account, name="other")
    _, fields = embedded_form(strict)
    response = strict.post(f"/ada/other/?embed=1&parent={SHOP}", book_data(fields))
    assert response.status_code == 403
    forged = signing.dumps(PAGE, salt="another.salt", compress=True)
    again = strict.post(PAGE, book_data({**fields, embed.TOKEN_FIELD: forged}))
    assert again.status_code == 403
    assert not Booking.objects.exists()


def test_a_token_posted_from_another_site_is_refused(strict, profile):
    _, fields = embedded_form(strict)
    response = strict.post(
        f"{PAGE}?embed=1&parent={SHOP}", book_data(fields), HTTP_ORIGIN="https://evil.example"
    )
    assert response.status_code == 403
    same = strict.post(
        f"{PAGE}?embed=1&parent={SHOP}", book_data(fields), HTTP_ORIGIN="http://testserver"
    )
    assert same.status_code == 302


def test_the_honeypot_and_rate_limit_still_apply_inside_the_frame(strict, profile, settings):
    _, fields = embedded_form(strict)
    spam = strict.post(f"{PAGE}?embed=1&parent={SHOP}", book_data(fields, website="x"))
    assert spam.status_code == 400
    assert_embeddable(spam)
    settings.PUBLIC_BOOKING_RATE_LIMIT = 0
    limited = strict.post(f"{PAGE}?embed=1&parent={SHOP}", book_data(fields))
    assert limited.status_code == 429
    assert_embeddable(limited)
    assert not Booking.objects.exists()


# --- the account's origins -----------------------------------------------------------------


def test_the_model_refuses_bad_origins(account):
    account.embed_origins = ["https://ok.example", "https://bad.example/path"]
    with pytest.raises(ValidationError) as caught:
        account.full_clean()
    assert "embed_origins" in caught.value.message_dict


def test_admin_shows_and_edits_the_origins_one_a_line(client, account):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456")
    client.force_login(user)
    page = html_of(client.get(f"/admin/scheduler/account/{account.pk}/change/"))
    assert 'name="embed_origins"' in page
    assert f"{SHOP}\n{LOCAL}" in page
    data = {
        "handle": "ada",
        "name": "Ada Host",
        "email": "ada@example.com",
        "timezone": "UTC",
        "embed_origins": "https://New.example/\n\nhttp://localhost:3000",
    }
    form = AccountForm(data=data, instance=account)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["embed_origins"] == ["https://new.example", "http://localhost:3000"]
    bad = AccountForm(data={**data, "embed_origins": "https://x.example/page"}, instance=account)
    assert not bad.is_valid()
    assert "embed_origins" in bad.errors


def test_an_origin_stored_past_the_validators_never_reaches_the_header(client, profile, account):
    # Written straight to the database (a script, a shell): the page ignores what is not an
    # origin, so nothing can be injected into the policy.
    type(account).objects.filter(pk=account.pk).update(
        embed_origins=[SHOP, "https://x.example; script-src *", "HTTPS://Upper.example"]
    )
    response = client.get(PAGE + "?embed=1")
    assert_embeddable(response, (SHOP,))

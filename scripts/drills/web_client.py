"""A logged-in user for the drills, over plain HTTP (stdlib only): the login form with its
CSRF token, a cookie jar, GETs and POSTs that never raise on an HTTP status."""

from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer at all (refused, reset, timed out)
    location: str
    seconds: float
    body: bytes = b""

    @property
    def sent_to_login(self) -> bool:
        return self.status == 302 and "/login/" in self.location


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 302 is an answer to look at, not to follow


class WebUser:
    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def request(self, path: str, data: dict[str, str] | None = None) -> Answer:
        url = self.base_url + path
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers={"Referer": url})
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                content = response.read()
                return Answer(response.status, "", time.perf_counter() - started, content)
        except urllib.error.HTTPError as error:
            location = error.headers.get("Location", "") if error.headers else ""
            content = error.read() if error.fp else b""
            return Answer(error.code, location, time.perf_counter() - started, content)
        except (OSError, urllib.error.URLError):
            return Answer(0, "", time.perf_counter() - started)

    def get(self, path: str) -> Answer:
        return self.request(path)

    def post(self, path: str, data: dict[str, str] | None = None) -> Answer:
        form = self.request(path) if path == "/login/" else None
        token = self._csrf(form)
        return self.request(path, {**(data or {}), "csrfmiddlewaretoken": token})

    def log_in(self, username: str, password: str) -> bool:
        answer = self.post("/login/", {"username": username, "password": password})
        return answer.status == 302 and not answer.sent_to_login

    def cookie(self, name: str = "sessionid") -> http.cookiejar.Cookie | None:
        return next((c for c in self.jar if c.name == name), None)

    def presenting(self, cookie: http.cookiejar.Cookie | None) -> WebUser:
        """A new client that presents `cookie` (a kept or stolen session cookie): each try
        gets a fresh one, as a server's "delete this cookie" must not hide a replay."""
        other = WebUser(self.base_url, self.timeout)
        if cookie is not None:
            other.jar.set_cookie(cookie)
        return other

    def _csrf(self, form: Answer | None) -> str:
        if form is not None:
            found = CSRF_FIELD.search(form.body)
            if found:
                return found.group(1).decode()
        return next((c.value or "" for c in self.jar if c.name == "csrftoken"), "")

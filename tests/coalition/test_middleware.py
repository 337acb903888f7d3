import json
import logging

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.views.decorators.clickjacking import xframe_options_exempt

from coalition.logging import JsonFormatter
from coalition.middleware import SecurityHeadersMiddleware


@pytest.mark.django_db
def test_every_page_has_a_csp_without_inline_script(client):
    response = client.get("/accounts/login/")

    csp = response["Content-Security-Policy"]
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src"))
    assert script_src == "script-src 'self'"
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"]


def test_frameable_views_allow_framing_in_csp():
    @xframe_options_exempt
    def embed(request):
        return HttpResponse("count")

    response = SecurityHeadersMiddleware(embed)(RequestFactory().get("/"))

    assert "frame-ancestors *" in response["Content-Security-Policy"]


def test_json_log_lines_carry_extra_fields():
    record = logging.makeLogRecord(
        {"name": "signers", "levelname": "INFO", "msg": "sent %s", "args": (3,)}
    )
    record.letter_id = 7

    line = json.loads(JsonFormatter().format(record))

    assert line["message"] == "sent 3"
    assert line["letter_id"] == 7
    assert line["level"] == "INFO"

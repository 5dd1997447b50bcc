import pytest
from tests.conftest import PASSWORD
from tests.e2e.conftest import login
from tests.frontend.test_fleet_pages import form_data, make_node, public_host_key
from fleet.models import Card, Node
from fleet.choices import NodeStatus, HostKeyStatus

pytestmark = pytest.mark.e2e

def test_shots(asgi_live_server, page, admin_user):
    s = asgi_live_server
    login(page, s, admin_user.username, PASSWORD)
    page.goto(s.url + "/nodes/new/")
    d = form_data(host="bad host!")
    for k in ("name","host","port","labels"):
        page.fill(f"#id_{k}", str(d[k]))
    page.fill("#id_private_key", d["private_key"])
    page.click("button[type=submit]")
    page.screenshot(path="/tmp/shots/scratch-form-error.png", full_page=True)
    page.fill("#id_host", "127.0.0.1")
    page.fill("#id_private_key", d["private_key"])
    page.click("button[type=submit]")
    page.wait_for_url("**/host-key/")
    page.screenshot(path="/tmp/shots/scratch-scan-error.png", full_page=True)
    old, new = public_host_key(), public_host_key()
    n = make_node("node-x", healths=("OK","Warning","Critical","Alarm","OK","OK","Unknown","OK"), status=NodeStatus.HOST_KEY_CHANGED, host_key_fingerprint=old.fingerprint, seen_host_key_fingerprint=new.fingerprint, last_error="host key changed: 127.0.0.1:22 offered X, not the accepted Y; connection refused.")
    Card.objects.filter(node=n, device=1).update(cordoned=True, processes=[{"pid": 1, "name": "python3", "memory_mb": 100, "container": ""}])
    page.goto(s.url + f"/nodes/{n.pk}/")
    page.screenshot(path="/tmp/shots/scratch-key-changed.png", full_page=True)
    page.goto(s.url + "/")
    page.screenshot(path="/tmp/shots/scratch-overview.png", full_page=True)

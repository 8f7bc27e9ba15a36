"""The search in the UI: the box in every page's header, a results page of the space shown
(its configurations, tasks and variables, each linking to its page), ``field:value`` terms, a
refused term named with the field, and nothing of a space the caller is not in."""

from __future__ import annotations

import re

from sluiceway.services import auth, configurations, policy, spaces, variables
from sluiceway.services.configurations import ConfigurationInput
from sluiceway.services.platform import Platform
from sluiceway.store.models import Task
from tests.web.conftest import Browser, add_user, new_browser


def _seed(p: Platform) -> None:
    admin = auth.caller_for(p, "admin")
    ws = next(iter(admin.workspace_ids))
    for type_, identifier, name, obj in (
            ("transformer", "orders-rename", "Rename order fields",
             {"prototype": "rename", "parameters": {"mapping": {"nm": "name"}}}),
            ("storage", "orders-seen", "Orders seen", {"prototype": "storage",
                                                       "parameters": {}}),
            ("storage", "customers", "Customers", {"prototype": "storage", "parameters": {}})):
        configurations.create(p, admin, ws, ConfigurationInput(
            type=type_, identifier=identifier, name=name, object=obj))
    variables.create(p, admin, ws, variables.VariableInput(
        "ORDERS_API_KEY", "k-1", "the key of the orders API"))
    with p.db.claim() as s:
        s.add(Task(workspace_id=ws, route="orders", entity_type="order",
                   entity_identifier="order-1001", status="failed", entity={}, log=[],
                   attempts=1))
        s.add(Task(workspace_id=ws, route="customers", entity_type="customer",
                   entity_identifier="c-7", status="processed", entity={}, log=[],
                   attempts=1))
    other = spaces.create(p, admin, spaces.SpaceInput("elsewhere", "Elsewhere", "dev", ""))
    configurations.create(p, admin, other.id, ConfigurationInput(
        type="storage", identifier="orders-hidden", name="Orders of elsewhere",
        object={"prototype": "storage", "parameters": {}}))


def _links(html: str, section: str) -> list[str]:
    part = html.split(f'id="s-{section}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<a href="([^"]+)">', part)


def test_the_header_box_searches_the_space_and_links_each_hit(admin: Browser,
                                                             platform: Platform) -> None:
    _seed(platform)
    overview = admin.get("/ui/").text
    assert 'action="/ui/search"' in overview  # the box is in the header
    page = admin.get("/ui/search?q=orders").text
    assert _links(page, "configurations") == ["/ui/configurations/storage/orders-seen",
                                              "/ui/configurations/transformer/orders-rename"]
    assert _links(page, "tasks") == ["/ui/tasks?route=orders&amp;entity=order-1001"]
    assert _links(page, "variables") == ["/ui/admin/variables"]
    assert "ORDERS_API_KEY" in page
    assert "orders-hidden" not in page  # another space's configuration
    assert "Orders of elsewhere" not in page
    # every link opens its page, and the task's shows the task
    admin.get("/ui/configurations/storage/orders-seen")
    assert "order-1001" in admin.get("/ui/tasks?route=orders&entity=order-1001").text
    # terms narrow the kinds and the words narrow the hits
    page = admin.get("/ui/search?q=type:storage").text
    assert _links(page, "configurations") == ["/ui/configurations/storage/customers",
                                              "/ui/configurations/storage/orders-seen"]
    assert _links(page, "tasks") == []
    assert _links(page, "variables") == []
    page = admin.get("/ui/search?q=status:failed").text
    assert len(_links(page, "tasks")) == 1
    assert _links(page, "configurations") == []
    page = admin.get("/ui/search?q=orders+rename").text
    assert _links(page, "configurations") == ["/ui/configurations/transformer/orders-rename"]


def test_a_bad_term_is_refused_with_the_field(admin: Browser, platform: Platform) -> None:
    r = admin.get("/ui/search?q=colour:red", 422)
    assert "q: unknown term &#39;colour&#39;" in r.text
    r = admin.get("/ui/search?q=" + "x" * 1001, 422)
    assert "at most 1000 characters" in r.text
    assert "Configurations (" not in admin.get("/ui/search").text  # nothing asked, no hits


def test_a_viewer_searches_their_space_only(admin: Browser, platform: Platform) -> None:
    _seed(platform)
    add_user(platform, "viewer@example.com", "viewer-password", policy.Role.VIEWER,
             "elsewhere")
    viewer = new_browser(admin.client)
    viewer.sign_in("viewer@example.com", "viewer-password")
    page = viewer.get("/ui/search?q=orders").text
    assert _links(page, "configurations") == ["/ui/configurations/storage/orders-hidden"]
    assert "orders-seen" not in page
    assert "ORDERS_API_KEY" not in page
    assert _links(page, "tasks") == []

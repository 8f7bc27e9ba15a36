"""Scheduler entries (``scheduler-entry`` / ``cron``): the scheduler that fires connections
runs their commands at the expression's times in the entry's time zone, once per slot
whatever the number of schedulers or restarts; disabled entries and routes are not run. The
clock is injected (``tick(t)``)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

import pytest
from sqlalchemy import func, select, update

from sluiceway.jobs.scheduler import Scheduler
from sluiceway.store.models import Configuration, EnvironmentVariable, Job, ScheduleSlot
from tests.jobs.conftest import World

#: 2027-01-15 08:00:00 UTC (09:00 in Amsterdam: winter time), a Friday
T = dt.datetime(2027, 1, 15, 8, 0, tzinfo=dt.UTC).timestamp()
SAVED = T - 86_400


def _config(world: World, type_: str, identifier: str, prototype: str,
            parameters: dict[str, Any], *, disabled: bool = False) -> None:
    with world.db.session() as s:
        s.add(Configuration(workspace_id=world.workspace_id, type=type_, identifier=identifier,
                            name=identifier, prototype=prototype,
                            object={"prototype": prototype, "parameters": parameters},
                            disabled=disabled, labels=[], revision="0" * 26,
                            created_at=SAVED, updated_at=SAVED))


def _routes(world: World) -> None:
    for name, incoming in (("orders", "shop-in"), ("refunds", "shop-in"), ("stock", "wms-in")):
        _config(world, "route-configuration", name, "route",
                {"incoming": incoming, "outgoing": "dwh-out"})


def _entry(world: World, identifier: str, expression: str, commands: list[tuple[str, str]],
           **extra: Any) -> None:
    keys = {"route:run": "route", "incoming:run": "incoming", "outgoing:run": "outgoing"}
    _config(world, "scheduler-entry", identifier, "cron", {
        "expression": expression, **extra.pop("parameters", {}),
        "commands": [{"command": c, "arguments": {keys[c]: a}} for c, a in commands]},
        **extra)


def _runs(world: World) -> list[tuple[str, str | None]]:
    with world.db.session() as s:
        return [(str(j.input["route"]), j.input.get("scheduler")) for j in s.scalars(
            select(Job).where(Job.config_type == "route").order_by(Job.id))]


def test_an_entry_runs_its_commands_at_each_slot_once_also_across_a_restart(
        world: World) -> None:
    _routes(world)
    _entry(world, "hourly", "0 * * * *", [("route:run", "orders"), ("incoming:run", "shop-in")],
           parameters={"priority": 3})
    sched = Scheduler(world.settings, world.db)
    assert sched.tick(T - 1) == []
    fired = sched.tick(T)
    # route:run orders, then incoming:run shop-in: orders (already there) and refunds
    assert len(fired) == 2
    assert _runs(world) == [("orders", "hourly"), ("refunds", "hourly")]
    assert {world.job(j).priority for j in fired} == {3}
    assert sched.tick(T + 30) == []
    # a restart (a new scheduler) within the slot: the slot's key is in the database
    assert Scheduler(world.settings, world.db).tick(T + 59) == []
    assert sched.tick(T + 3599) == []
    assert len(sched.tick(T + 3600)) == 2
    with world.db.session() as s:
        slots = list(s.execute(select(ScheduleSlot.entry, ScheduleSlot.slot)
                               .order_by(ScheduleSlot.slot)))
    assert slots == [("hourly", T), ("hourly", T + 3600)]
    assert sched.next_due(T + 3601) == T + 7200


def test_an_entry_reads_its_expression_in_its_time_zone(world: World) -> None:
    _routes(world)
    _entry(world, "nine-amsterdam", "0 9 * * *", [("route:run", "stock")],
           parameters={"timezone": "Europe/Amsterdam"})
    _entry(world, "nine-utc", "0 9 * * *", [("route:run", "orders")])
    sched = Scheduler(world.settings, world.db)
    assert len(sched.tick(T)) == 1  # 09:00 in Amsterdam is 08:00 UTC in January
    assert _runs(world) == [("stock", "nine-amsterdam")]
    assert len(sched.tick(T + 3600)) == 1
    assert _runs(world)[-1] == ("orders", "nine-utc")


def test_disabled_entries_and_routes_are_not_run_and_missed_slots_are_skipped(
        world: World) -> None:
    _routes(world)
    _entry(world, "off", "*/5 * * * *", [("route:run", "orders")], disabled=True)
    _entry(world, "to-a-disabled-route", "*/5 * * * *", [("route:run", "stock")])
    with world.db.session() as s:
        s.execute(update(Configuration).where(Configuration.identifier == "stock")
                  .values(disabled=True))
    sched = Scheduler(world.settings, world.db)
    assert sched.tick(T) == []
    assert _runs(world) == []
    # a slot long past (the server was down) is not fired as a backlog
    _entry(world, "late", "0 7 * * *", [("route:run", "orders")])
    assert sched.tick(T + 600) == []
    # an entry saved after a slot does not fire that slot
    with world.db.session() as s:
        s.execute(update(Configuration).where(Configuration.identifier == "late")
                  .values(updated_at=T + 3 * 3600 + 1))
    assert sched.tick(dt.datetime(2027, 1, 16, 7, 0, tzinfo=dt.UTC).timestamp() - 1) == []
    assert len(sched.tick(dt.datetime(2027, 1, 16, 7, 0, tzinfo=dt.UTC).timestamp())) == 1


def test_two_schedulers_at_one_slot_fire_it_once(world: World) -> None:
    _routes(world)
    _entry(world, "every-minute", "* * * * *", [("route:run", "orders")])
    start = threading.Barrier(4)
    fired: list[int] = []
    lock = threading.Lock()

    def tick() -> None:
        start.wait(timeout=30)
        got = Scheduler(world.settings, world.db).tick(T)
        with lock:
            fired.extend(got)

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert len(fired) == 1
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 1


def _variable(world: World, name: str, value: str, *, encrypted: bool = False) -> None:
    with world.db.session() as s:
        s.add(EnvironmentVariable(workspace_id=world.workspace_id, name=name,
                                  value=world.cipher.encrypt(value) if encrypted else value,
                                  encrypted=encrypted))


def test_an_expression_from_a_plain_variable_is_scheduled_at_its_value(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    _routes(world)
    _variable(world, "NIGHTLY", "0 9 * * *")
    _variable(world, "ZONE", "Europe/Amsterdam")
    _variable(world, "HIDDEN", "* * * * *", encrypted=True)
    _entry(world, "from-variable", "${NIGHTLY}", [("route:run", "stock")],
           parameters={"timezone": "${ZONE}"})
    _entry(world, "from-secret", "${HIDDEN}", [("route:run", "orders")])
    _entry(world, "from-nothing", "${NOT_THERE}", [("route:run", "refunds")])
    sched = Scheduler(world.settings, world.db)
    with caplog.at_level(logging.WARNING, logger="sluiceway.jobs.schedule_entries"):
        assert sched.tick(T - 60) == []  # an encrypted "* * * * *" is never read
        assert len(sched.tick(T)) == 1  # 09:00 in Amsterdam
    assert _runs(world) == [("stock", "from-variable")]
    assert sched.next_due(T + 1) == T + 86_400
    warned = caplog.text
    assert "'from-secret' is not scheduled: ${HIDDEN} is encrypted" in warned
    assert "'from-nothing' is not scheduled" in warned
    assert "NOT_THERE" in warned
    # the variable changes: the entry moves with it
    with world.db.session() as s:
        s.execute(update(EnvironmentVariable).where(EnvironmentVariable.name == "NIGHTLY")
                  .values(value="30 9 * * *"))
    assert len(sched.tick(T + 1800)) == 1
    assert _runs(world)[-1] == ("stock", "from-variable")

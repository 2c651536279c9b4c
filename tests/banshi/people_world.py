"""Shared set-up for the personnel and finance tests: agency A's personnel and finance office is
秘书处 (A2: horatio, laertes); hamlet (A1) is ordinary staff; othello is in agency B."""

from __future__ import annotations

import datetime as dt

from starlette.testclient import TestClient

from banshi.models import AgencyOffices, PersonnelRecord
from office.db import Database
from tests.factories import Org, login, new_client


def set_offices(db: Database, org: Org) -> None:
    with db.write() as s:
        s.add(AgencyOffices(agency_id=org.agencies["A"], personnel_department_id=org.depts["A2"],
                            finance_department_id=org.depts["A2"]))  # fmt: skip


def set_work_start(db: Database, user_id: int, day: str) -> None:
    with db.write() as s:
        s.add(PersonnelRecord(user_id=user_id, work_start=dt.date.fromisoformat(day)))


def as_user(client: TestClient, username: str) -> TestClient:
    c = new_client(client.app)
    login(c, username)
    return c

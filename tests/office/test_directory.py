"""通讯录 search and browsing, and organisation administration through the API."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.factories import Org, login


def _names(client: TestClient, q: str) -> list[str]:
    r = client.get("/api/directory/search", params={"q": q})
    assert r.status_code == 200, r.text
    return [p["name"] for p in r.json()["items"]]


def test_search_by_name_pinyin_initials_title_department(client: TestClient, org: Org) -> None:
    login(client, "ophelia")
    assert _names(client, "zhangwei")[0] == "张伟"
    assert _names(client, "zw")[0] == "张伟"
    assert _names(client, "ZW")[0] == "张伟"
    assert "张伟" in _names(client, "伟")  # a given name alone
    assert "张伟" in _names(client, "wei")
    assert _names(client, "张伟") == ["张伟"]
    assert set(_names(client, "处长")) == {"王强", "陈静"}
    assert "何芳" in _names(client, "办公室")  # 省财政厅's 厅长 (its 科员 郑军 is not shown across agencies)
    assert _names(client, "") == [] and _names(client, "不存在的人") == []
    assert _names(client, "%") == [] and _names(client, "_") == []


def test_search_ranks_exact_name_before_pinyin_prefix(client: TestClient, org: Org) -> None:
    login(client, "prospero")
    client.post(
        "/api/admin/users",
        json={
            "username": "zhangweiguo",
            "name": "张卫国",
            "password": "long-enough-password-1",
            "posts": [{"department_id": org.depts["A2"], "title": "科员"}],
        },
    )
    names = _names(client, "zhangwei")
    assert names[0] == "张伟" and "张卫国" in names
    assert _names(client, "zwg") == ["张卫国"]


def test_search_filtered_by_department(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    r = client.get("/api/directory/search", params={"q": "ke", "department_id": org.depts["B1"]})
    assert all(p["department"] == "办公室" for p in r.json()["items"])


def test_search_query_too_long(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    r = client.get("/api/directory/search", params={"q": "x" * 51})
    assert r.status_code == 422 and r.json()["error"] == "query_too_long"


def test_tree_members_and_person_card(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    tree = client.get("/api/directory/tree").json()["items"]
    assert [n["name"] for n in tree] == ["省政府办公厅", "省财政厅"]
    assert [c["name"] for c in tree[0]["children"]] == ["综合处", "秘书处"]
    members = client.get(f"/api/directory/departments/{org.depts['A1']}/members", params={"limit": 3}).json()
    assert members["total"] == 7 and len(members["items"]) == 3
    card = client.get(f"/api/directory/people/{org.users['polonius']}").json()
    assert card["name"] == "王强" and card["title"] == "处长"
    assert client.get("/api/directory/people/999999").status_code == 404


def test_tree_nodes_carry_pinyin_and_initials_for_the_picker(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    agency = client.get("/api/directory/tree").json()["items"][0]
    assert (agency["pinyin"], agency["initials"]) == ("shengzhengfubangongting", "szfbgt")
    assert [(c["pinyin"], c["initials"]) for c in agency["children"]] == [("zonghechu", "zhc"), ("mishuchu", "msc")]


def test_person_card_shows_posts_by_title_and_roles_only_to_administrators(client: TestClient, org: Org) -> None:
    """A 副秘书长 holds the roles 科员 and 机关领导, which are permissions, not titles: colleagues see the
    posts (department and title); administrators, who assign the roles, see them too."""
    claudius = org.users["claudius"]
    login(client, "hamlet")
    card = client.get(f"/api/directory/people/{claudius}").json()
    assert card["title"] == "副秘书长" and card["department"] == "综合处"
    assert [(p["department"], p["title"], p["is_primary"]) for p in card["posts"]] == [("综合处", "副秘书长", True)]
    assert "role_labels" not in card and "roles" not in card
    login(client, "prospero")
    card = client.get(f"/api/directory/people/{claudius}").json()
    assert card["role_labels"] == ["科员", "机关领导"] and card["title"] == "副秘书长"


def test_anonymous_cannot_read_directory(client: TestClient, org: Org) -> None:
    assert client.get("/api/directory/search?q=zw").status_code == 401
    assert client.get("/api/directory/tree").json()["error"] == "unauthenticated"


def test_admin_manages_departments_and_users(client: TestClient, org: Org) -> None:
    login(client, "prospero")
    r = client.post("/api/admin/departments", json={"name": "法规处", "parent_id": org.agencies["A"]})
    assert r.status_code == 201
    dept = r.json()
    sub = client.post("/api/admin/departments", json={"name": "法规一科", "parent_id": dept["id"]}).json()
    assert (
        client.post("/api/admin/departments", json={"name": "法规处", "parent_id": org.agencies["A"]}).status_code
        == 409
    )
    assert client.post("/api/admin/departments", json={"name": "孤儿处"}).status_code == 422
    r = client.post(
        "/api/admin/users",
        json={
            "username": "macbeth",
            "name": "马克",
            "password": "a-long-enough-pass-26",
            "posts": [{"department_id": sub["id"], "title": "科员"}],
            "roles": ["staff", "clerk"],
        },
    )
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["department"] == "法规一科" and user["roles"] == ["clerk", "staff"]
    assert client.delete(f"/api/admin/departments/{dept['id']}").status_code == 409  # has children
    r = client.put(
        f"/api/admin/users/{user['id']}/posts",
        json={
            "posts": [
                {"department_id": org.depts["A1"], "title": "副处长", "is_primary": True},
                {"department_id": sub["id"], "title": "科长", "is_primary": False},
            ]
        },
    )
    assert r.status_code == 200 and len(r.json()["posts"]) == 2
    assert (
        client.put(
            f"/api/admin/users/{user['id']}/posts",
            json={"posts": [{"department_id": org.depts["A1"], "is_primary": False}]},
        ).status_code
        == 422
    )
    r = client.put(f"/api/admin/users/{user['id']}/roles", json={"roles": ["staff", "leader"]})
    assert r.json()["roles"] == ["leader", "staff"]
    assert client.patch(f"/api/admin/departments/{sub['id']}", json={"name": "法规二科"}).status_code == 200
    assert "马克" in _names(client, "法规二科")
    listing = client.get("/api/admin/users", params={"q": "马", "limit": 5}).json()
    assert listing["total"] == 1
    actions = [e["action"] for e in client.get("/api/admin/audit", params={"limit": 20}).json()["items"]]
    for expected in ("department.create", "user.create", "user.posts", "user.roles", "department.update"):
        assert expected in actions


def test_staff_cannot_administer(client: TestClient, org: Org) -> None:
    login(client, "polonius")
    assert client.post("/api/admin/departments", json={"name": "x", "parent_id": org.agencies["A"]}).status_code == 403
    assert client.get("/api/admin/users").status_code == 403
    assert client.get("/api/admin/audit").status_code == 403
    assert client.put(f"/api/admin/users/{org.users['polonius']}/roles", json={"roles": ["admin"]}).status_code == 403


def test_admin_cannot_remove_own_admin_or_disable_self(client: TestClient, org: Org) -> None:
    login(client, "prospero")
    me = org.users["prospero"]
    assert client.put(f"/api/admin/users/{me}/roles", json={"roles": ["staff"]}).json()["error"] == "self_demote"
    assert client.post(f"/api/admin/users/{me}/disable").json()["error"] == "self_disable"


def test_watermark_switch_is_admin_only_and_audited(client: TestClient, org: Org) -> None:
    login(client, "hamlet")
    assert client.get("/api/me").json()["watermark"] is True
    assert client.put("/api/admin/settings/watermark", json={"enabled": False}).status_code == 403
    login(client, "prospero")
    assert client.put("/api/admin/settings/watermark", json={"enabled": False}).json() == {"enabled": False}
    assert client.get("/api/me").json()["watermark"] is False
    actions = [e["action"] for e in client.get("/api/admin/audit", params={"action": "settings."}).json()["items"]]
    assert actions == ["settings.watermark"]

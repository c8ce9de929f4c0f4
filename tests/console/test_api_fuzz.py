"""The JSON API under generated requests (schemathesis): no 500, answers that keep to the schema, roles kept."""

from __future__ import annotations

import inspect
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings

from bot.storage import users
from bot.storage.models import User

schemathesis = pytest.importorskip("schemathesis")
ROLES = ("alex", "maria", "root")  # an agent, an approver, an admin (tests/console/conftest.py)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 25


def api_routes(routes):
    """Every route of the app, inside the routers it includes too."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)
        else:
            yield route


def required_permission(app, method: str, path: str) -> str | None:
    """The permission the API route asks its caller for (the `caller(permission)` dependency), if any."""
    for route in api_routes(app.routes):
        if getattr(route, "path_format", None) == path and method.upper() in getattr(route, "methods", ()):
            for dependency in route.dependant.dependencies:
                permission = inspect.getclosurevars(dependency.call).nonlocals.get("permission")
                if permission is not None:
                    return permission
    return None


def api_operations(schema) -> list:
    """The schema's operations under /api/v1 (the platforms' webhooks are signed, not token-authenticated)."""
    operations = [result.ok() for result in schema.get_all_operations()]
    return [operation for operation in operations if operation.path.startswith("/api/v1/")]


def permissions(app) -> set[str]:
    """Every permission some /api/v1 route asks for."""
    found = set()
    for route in api_routes(app.routes):
        if not getattr(route, "path", "").startswith("/api/v1/"):
            continue
        for dependency in getattr(getattr(route, "dependant", None), "dependencies", ()):
            permission = inspect.getclosurevars(dependency.call).nonlocals.get("permission")
            if permission is not None:
                found.add(permission)
    return found


@pytest.fixture
def fuzzed(console):
    """The console with a few mentions in its queue, its API schema, and an API token per role."""
    for n in range(3):
        console.mention(f"@acme my internet is down in street {n}, not working", id=f"fz-{n}", author=f"@fz{n}")
    console.mention("@acme how do I change my plan online?", id="fz-q", author="@fzq")
    console.poll()
    with console.session() as session:
        tokens = {
            name: users.issue_api_token(
                session, session.query(User).filter_by(username=name).one(), console.clock.now(), "test"
            )
            for name in ROLES
        }
        roles = {name: session.query(User).filter_by(username=name).one().role for name in ROLES}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", console.app)
    return console, schema, tokens, roles


def run_cases(operation, examples: int, check_one) -> None:
    """Generate `examples` requests for one operation and check each one's answer."""

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case):
        check_one(case)

    run()


@pytest.mark.parametrize("username", ROLES)
def test_every_api_operation_answers_each_role_without_a_500_and_within_its_permissions(fuzzed, username):
    console, schema, tokens, roles = fuzzed
    headers = {"Authorization": f"Bearer {tokens[username]}"}
    allowed = users.PERMISSIONS[roles[username]]
    operations = api_operations(schema)
    assert len(operations) >= 10, "the schema lists the API's operations"
    answered: list[int] = []

    def check_one(case, permission: str) -> None:
        response = case.call(headers=headers)
        answered.append(response.status_code)
        case.validate_response(response, checks=CHECKS)
        if permission not in allowed:
            assert response.status_code == 403, (
                f"{roles[username]} lacks {permission!r} but {case.method} {case.formatted_path} "
                f"answered {response.status_code}"
            )

    for operation in operations:
        permission = required_permission(console.app, operation.method, operation.path)
        assert permission is not None, f"{operation.method} {operation.path} checks no permission"
        run_cases(operation, EXAMPLES_PER_OPERATION, partial(check_one, permission=permission))
    assert any(200 <= status < 300 for status in answered), "some generated requests succeed"
    assert (403 in answered) == any(needed not in allowed for needed in permissions(console.app))


def test_the_api_refuses_generated_requests_without_a_token(fuzzed):
    _console, schema, _tokens, _roles = fuzzed

    def check_one(case) -> None:
        response = case.call()
        assert response.status_code == 401, f"{case.method} {case.formatted_path} answered {response.status_code}"

    for operation in api_operations(schema):
        run_cases(operation, 3, check_one)


def test_the_platform_webhooks_never_answer_generated_requests_with_a_500(fuzzed):
    _console, schema, _tokens, _roles = fuzzed
    hooks = [result.ok() for result in schema.get_all_operations() if result.ok().path.startswith("/webhooks/")]
    assert hooks, "the schema lists the platforms' webhooks"

    def check_one(case) -> None:
        response = case.call()
        case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])
        assert response.status_code < 500

    for operation in hooks:
        run_cases(operation, EXAMPLES_PER_OPERATION, check_one)

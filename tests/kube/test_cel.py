"""CEL rules of CRD schemas: binding, defaults, messages, transition rules, limitations, every vendored rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.kube import cel
from generator.kube.cel import engine
from generator.kube.cel.values import bind, defaulted, escape
from tests.kube.conftest import CRD_SCHEMAS

REPO = Path(__file__).resolve().parents[2]


def schema_of(path: str) -> dict[str, Any]:
    """A vendored CRD schema, parsed."""
    data: dict[str, Any] = json.loads((CRD_SCHEMAS / path).read_text(encoding="utf-8"))
    return data


def node(rules: list[dict[str, Any]], **props: Any) -> dict[str, Any]:
    """An object schema with properties and rules."""
    return {"type": "object", "properties": props, "x-kubernetes-validations": rules}


VENDORED = sorted(p.relative_to(CRD_SCHEMAS).as_posix() for p in CRD_SCHEMAS.glob("*/*.json"))


@pytest.mark.parametrize("path", VENDORED)
def test_every_vendored_rule_compiles(path: str) -> None:
    assert cel.cel_limitations(schema_of(path)) == []


def test_the_vendored_schemas_hold_393_rules() -> None:
    assert sum(cel.rule_count(schema_of(p)) for p in VENDORED) == 393


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_committed_routes_and_policies_pass_their_rules(env: str) -> None:
    kinds = {"HTTPRoute": "gateway.networking.k8s.io/httproute_v1.json",
             "BackendTrafficPolicy": "gateway.envoyproxy.io/backendtrafficpolicy_v1alpha1.json"}
    checked = 0
    for file in sorted((REPO / "rendered" / env).glob("*.yaml")):
        body = yaml.safe_load(file.read_text(encoding="utf-8"))
        if body["kind"] in kinds:
            assert cel.cel_findings(schema_of(kinds[body["kind"]]), body) == []
            checked += 1
    assert checked == 3


# One case per family of rule in the vendored schemas: (schema, object, path, message).
ROUTE = "gateway.networking.k8s.io/httproute_v1.json"
FAMILIES = [
    pytest.param(ROUTE, {"spec": {"rules": [{"filters": [{"type": "URLRewrite", "urlRewrite": {}}] * 2}]}},
                 "$.spec.rules[0].filters", "URLRewrite filter cannot be repeated", id="filter-count"),
    pytest.param(ROUTE, {"spec": {"rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {}}],
                                             "backendRefs": [{"name": "a", "port": 80}]}]}},
                 "$.spec.rules[0]", "RequestRedirect filter must not be used together with backendRefs", id="exclusive-fields"),
    pytest.param(ROUTE, {"spec": {"rules": [{"matches": [{"path": {"value": "api"}}]}]}},
                 "$.spec.rules[0].matches[0].path",
                 "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']",
                 id="string-functions-with-defaults"),
    pytest.param(ROUTE, {"spec": {"rules": [{"backendRefs": [{"name": "a"}]}]}},
                 "$.spec.rules[0].backendRefs[0]", "Must have port for Service reference", id="defaulted-group-and-kind"),
    pytest.param(ROUTE, {"spec": {"rules": [{"filters": [{"type": "RequestMirror"}]}]}},
                 "$.spec.rules[0].filters[0]", "filter.requestMirror must be specified for RequestMirror filter.type",
                 id="type-names-field"),
    pytest.param(ROUTE, {"spec": {"rules": [{"timeouts": {"request": "1s", "backendRequest": "1m"}}]}},
                 "$.spec.rules[0].timeouts", "backendRequest timeout cannot be longer than request timeout",
                 id="durations"),
    pytest.param(ROUTE, {"spec": {"rules": [{"matches": [{"path": {"type": "RegularExpression", "value": "/a"}}],
                                             "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {
                                                 "type": "ReplacePrefixMatch", "replacePrefixMatch": "/b"}}}]}]}},
                 "$.spec.rules[0]",
                 "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
                 id="exists-one"),
    pytest.param("gateway.networking.k8s.io/gateway_v1.json",
                 {"spec": {"gatewayClassName": "eg", "listeners": [{"name": "a", "protocol": "HTTP", "port": 80},
                                                                   {"name": "b", "protocol": "HTTP", "port": 80}]}},
                 "$.spec.listeners",
                 "Combination of port, protocol and hostname must be unique for each listener", id="uniqueness"),
    pytest.param("gateway.envoyproxy.io/clienttrafficpolicy_v1alpha1.json",
                 {"spec": {"tls": {"minVersion": "1.3", "maxVersion": "1.2"}}},
                 "$.spec.tls", "minVersion must be smaller or equal to maxVersion", id="map-literal-index"),
    pytest.param("gateway.envoyproxy.io/securitypolicy_v1alpha1.json",
                 {"spec": {"oidc": {"provider": {"issuer": "https://a"}, "clientID": "c", "clientSecret": {"name": "s"},
                                    "forwardAccessToken": True, "forwardIDToken": {"header": "AUTHORIZATION"}}}},
                 "$.spec.oidc", "forwardAccessToken cannot be true when forwardIDToken.header is Authorization",
                 id="lowerAscii"),
    pytest.param("gateway.envoyproxy.io/backendtrafficpolicy_v1alpha1.json",
                 {"spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "a"}],
                           "circuitBreaker": {"perEndpoint": {"maxConnections": 1}},
                           "retry": {"perRetry": {"timeout": "1s"}, "numRetries": 1},
                           "responseOverride": [{"match": {"statusCodes": [{"type": "Range"}]},
                                                 "response": {"contentType": "text/plain"}}]}},
                 "$.spec.responseOverride[0].match.statusCodes[0]", "range must be set for type Range", id="ternary-has"),
    pytest.param("external-secrets.io/clustersecretstore_v1.json",
                 {"spec": {"provider": {"vault": {"server": "https://v", "auth": {"kubernetes": {"mountPath": "k", "role": "r"}},
                                                  "namespace": "x"}}, "conditions": [{"namespaceRegexes": ["("]}]}},
                 None, None, id="a-valid-store-passes"),
]


@pytest.mark.parametrize(("path", "body", "where", "message"), FAMILIES)
def test_rule_family(path: str, body: dict[str, Any], where: str | None, message: str | None) -> None:
    found = cel.cel_findings(schema_of(path), body)
    if where is None:
        assert found == []
    else:
        assert (where, f'Invalid value: "{"array" if where.endswith(("filters", "listeners")) else "object"}": {message}') in [
            (f.json_path, f.message) for f in found]


def test_self_is_each_item_and_each_map_value() -> None:
    schema = {"type": "object", "properties": {
        "list": {"type": "array", "items": node([{"rule": "self.n > 0", "message": "positive"}], n={"type": "integer"})},
        "map": {"type": "object", "additionalProperties": {"type": "string", "x-kubernetes-validations": [
            {"rule": "self.startsWith('/')", "message": "absolute"}]}}}}
    found = cel.cel_findings(schema, {"list": [{"n": 1}, {"n": 0}], "map": {"a": "/x", "b": "y"}})
    assert [(f.json_path, f.message) for f in found] == [
        ("$.list[1]", 'Invalid value: "object": positive'), ("$.map.b", 'Invalid value: "string": absolute')]


def test_transition_rules_are_skipped_on_create_unless_optional() -> None:
    schema = node([{"rule": "self == oldSelf", "message": "immutable"},
                   {"rule": "!oldSelf.hasValue() && self.a == 'x'", "message": "on create", "optionalOldSelf": True},
                   {"rule": "'oldSelf' != self.a", "message": "a string, not a transition"}],
                  a={"type": "string"})
    found = cel.cel_findings(schema, {"a": "oldSelf"})
    assert [f.message for f in found] == ['Invalid value: "object": on create', 'Invalid value: "object": a string, not a transition']


def test_message_expression_field_path_and_reason() -> None:
    schema = node([
        {"rule": "self.a < 3", "messageExpression": "'a is ' + string(self.a) + ', above 2'", "fieldPath": ".a"},
        {"rule": "self.a < 2", "messageExpression": "self.missing", "message": "fallback", "reason": "FieldValueForbidden"},
        {"rule": "self.a < 1", "reason": "FieldValueRequired", "fieldPath": "['a']"},
    ], a={"type": "integer"})
    assert [(f.json_path, f.message) for f in cel.cel_findings(schema, {"a": 5})] == [
        ("$.a", 'Invalid value: "object": a is 5, above 2'),
        ("$", "Forbidden: fallback"),
        ("$.a", "Required value: failed rule: self.a < 1"),
    ]


def test_evaluation_errors_are_worded_as_the_api_server_words_them() -> None:
    schema = node([{"rule": "self.b == 'x'"}, {"rule": "self.a.matches('^x')"}],
                  a={"x-kubernetes-int-or-string": True}, b={"type": "string"})
    assert [f.message for f in cel.cel_findings(schema, {"a": 1})] == [
        'Invalid value: "object": no such key: b evaluating rule: self.b == \'x\'',
        "Invalid value: \"object\": 'no such overload': call arguments did not match a supported operator, function"
        " or macro signature for rule: self.a.matches('^x')",
    ]


def test_an_uncompilable_rule_is_a_limitation_never_a_pass_or_a_failure() -> None:
    schema = node([{"rule": "isURL(self.u)", "message": "a URL"}, {"rule": "self.u != ''"}], u={"type": "string"})
    assert cel.cel_limitations(schema) == [cel.CelLimitation(
        "", "isURL(self.u)", "cannot compile: 1:6: undeclared reference to 'isURL' (in container '')")]
    assert [f.message for f in cel.cel_findings(schema, {"u": ""})] == ['Invalid value: "object": failed rule: self.u != \'\'']


def test_each_rule_compiles_once_per_process() -> None:
    engine.compile_expression.cache_clear()
    schema = schema_of(ROUTE)
    cel.rule_tree(schema)
    first = engine.compile_expression.cache_info().misses
    for _ in range(3):
        cel.cel_findings(schema, {"spec": {"rules": [{"matches": [{"path": {"value": "/"}}]}]}})
    assert engine.compile_expression.cache_info().misses == first


@pytest.mark.parametrize(("name", "escaped"), [
    ("namespace", "__namespace__"), ("a.b", "a__dot__b"), ("x-y/z", "x__dash__y__slash__z"), ("a__b", "a__underscores__b"),
    ("plain", "plain"), ("1st", None), ("sp ace", None)])
def test_property_names_escape_as_in_kubernetes(name: str, escaped: str | None) -> None:
    assert escape(name) == escaped


def test_binding_follows_the_schema() -> None:
    schema = {"type": "object", "properties": {
        "namespace": {"type": "string"}, "ratio": {"type": "number"}, "data": {"type": "string", "format": "byte"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}}}}
    bound = bind({"namespace": "a", "ratio": 1, "data": "aGk=", "labels": {"a.b/c": "d"}, "undeclared": 1}, schema)
    assert bound == {"__namespace__": "a", "ratio": 1.0, "data": b"hi", "labels": {"a.b/c": "d"}}
    assert isinstance(bound["ratio"], float)


def test_defaults_apply_and_non_nullable_nulls_are_pruned() -> None:
    schema = {"type": "object", "properties": {
        "a": {"type": "object", "default": {}, "properties": {"b": {"type": "string", "default": "x"}}},
        "c": {"type": "string"}, "d": {"type": "string", "nullable": True}}}
    assert defaulted({"c": None, "d": None}, schema) == {"a": {"b": "x"}, "d": None}


def test_timestamps_and_durations_bind_as_cel_types() -> None:
    schema = node([{"rule": "self.t > timestamp('2020-01-01T00:00:00Z') && self.d > duration('1m')", "message": "late"}],
                  t={"type": "string", "format": "date-time"}, d={"type": "string", "format": "duration"})
    assert cel.cel_findings(schema, {"t": "2021-01-01T00:00:00Z", "d": "1h30m"}) == []
    assert len(cel.cel_findings(schema, {"t": "2019-01-01T00:00:00Z", "d": "1h"})) == 1

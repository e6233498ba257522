"""The CEL environment of Kubernetes validation rules, as far as the rules we validate against need it.

The API server compiles `x-kubernetes-validations` in its base environment
(k8s.io/apiserver/pkg/cel/environment/base.go, `baseOptsWithoutStrictCost`): the CEL standard
library with cross-type numeric comparisons and optional types (1.28), `ext.Strings` version 2
(1.29), `ext.Sets` (1.29), and Kubernetes' own libraries: URLs, Regex, Lists (1.0), Authz
(1.27), Quantity (1.28), IP and CIDR (1.30), Format (1.31), two-variable comprehensions (1.32),
Semver and Image (1.33).

The vendored CRD schemas (generator/schemas/crds) use, besides the standard library
(`has`, `size`, `matches`, `contains`, `startsWith`, `endsWith`, `duration`, `in`, map and list
literals and indexing, `all`, `exists`, `exists_one`, `filter`):

- `lowerAscii` and `split` of the strings extension (Envoy Gateway's SecurityPolicy and
  BackendTrafficPolicy);
- raw triple-quoted string literals (`r\"\"\"...\"\"\"`) and escaped field names (`__namespace__`).

cel-cpp's strings extension provides both with cel-go's semantics. Rules that call a Kubernetes
library function we do not provide (`isURL`, `quantity`, `ip`, `cidr`, `format.*`, `sets.*`,
`semver`, `isSorted`, `find`, ...) fail to compile here and are reported as a tool limitation,
never as passed.
"""

from __future__ import annotations

from functools import cache
from typing import Any

# What the vendored rules call beyond CEL's standard library, for the documentation and the tests.
USED_EXTENSION_FUNCTIONS = ("lowerAscii", "split")
SELF = "self"
OLD_SELF = "oldSelf"


@cache
def environment() -> Any:
    """One cel-cpp environment for every rule: `self` is dynamic, as Kubernetes' dyn-typed values are at run time."""
    from cel_expr_python import cel
    from cel_expr_python.ext import ext_bindings, ext_optional, ext_strings

    # Bindings only to express `optionalOldSelf` rules on create: cel.bind(oldSelf, optional.none(), rule).
    extensions = [ext_strings.ExtStrings(), ext_optional.ExtOptional(), ext_bindings.ExtBindings()]
    return cel.NewEnv(variables={SELF: cel.Type.DYN, OLD_SELF: cel.Type.DYN}, extensions=extensions)

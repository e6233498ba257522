"""The report as text and as Markdown, from a hand-built diff."""

from __future__ import annotations

from generator.diffing.fields import FieldChange, Op
from generator.diffing.report import Report, markdown, text
from generator.diffing.resources import EnvDiff, ResourceDiff, Status
from generator.manifest import Identity

DEPLOYMENT = ResourceDiff(Identity("Deployment", "default", "gemma"), Status.CHANGED, (
    FieldChange("spec.template.spec.containers[llama-server].args", Op.CHANGED, "-c 4096", "-c 8192"),
    FieldChange("spec.template.spec.containers[llama-server].args", Op.ADDED, after="--embeddings"),
))
CONFIGMAP = ResourceDiff(Identity("ConfigMap", "default", "gemma-proxy"), Status.CHANGED, (
    FieldChange('data["nginx.conf"]', Op.TEXT, lines=("@@ -1 +1 @@", "-a 600s;", "+a 900s;")),
))
STORE = ResourceDiff(Identity("ClusterSecretStore", "", "oci-vault"), Status.ADDED)
CERT = ResourceDiff(Identity("Certificate", "default", "gemma-tls"), Status.REMOVED)
REPORT = Report("1a2b3c4", "merge base of HEAD and main", (),
                (EnvDiff("prod", (DEPLOYMENT, CONFIGMAP, STORE, CERT)), EnvDiff("staging", ())))
UNCHANGED = Report("1a2b3c4", "--base main", (), (EnvDiff("prod", ()), EnvDiff("staging", ())))


def test_text() -> None:
    assert text(REPORT).splitlines() == [
        "Comparing the working tree with 1a2b3c4 (merge base of HEAD and main).",
        "",
        "prod: 2 changed, 1 added, 1 removed",
        "  ~ Deployment default/gemma: spec.template.spec.containers[llama-server].args: -c 4096 → -c 8192",
        "  ~ Deployment default/gemma: spec.template.spec.containers[llama-server].args: + --embeddings",
        '  ~ ConfigMap default/gemma-proxy: data["nginx.conf"]:',
        "      @@ -1 +1 @@",
        "      -a 600s;",
        "      +a 900s;",
        "  + ClusterSecretStore oci-vault",
        "  - Certificate default/gemma-tls",
        "",
        "staging: no changes",
    ]


def test_text_without_changes() -> None:
    assert text(UNCHANGED).splitlines() == [
        "Comparing the working tree with 1a2b3c4 (--base main).",
        "No changes to the deployment (prod, staging).",
    ]


def test_text_notes() -> None:
    report = Report("1a2b3c4", "--base main", ("base 1a2b3c4: no environments; every resource shows as added",), ())
    assert text(report).splitlines() == [
        "Comparing the working tree with 1a2b3c4 (--base main).",
        "note: base 1a2b3c4: no environments; every resource shows as added",
        "No changes to the deployment (no environments).",
    ]


def test_markdown() -> None:
    assert markdown(REPORT) == """\
## Deployment diff

Comparing the working tree with `1a2b3c4` (merge base of HEAD and main).

### prod

**2 changed, 1 added, 1 removed**

- **Changed** `Deployment default/gemma`

  ```
  spec.template.spec.containers[llama-server].args: -c 4096 → -c 8192
  spec.template.spec.containers[llama-server].args: + --embeddings
  ```

- **Changed** `ConfigMap default/gemma-proxy`

  `data["nginx.conf"]`:

  ```diff
  @@ -1 +1 @@
  -a 600s;
  +a 900s;
  ```

- **Added** `ClusterSecretStore oci-vault`

- **Removed** `Certificate default/gemma-tls`

### staging

No changes."""


def test_markdown_without_changes() -> None:
    assert markdown(UNCHANGED).splitlines() == [
        "## Deployment diff", "", "Comparing the working tree with `1a2b3c4` (--base main).", "",
        "**No changes to the deployment (prod, staging).**",
    ]


def test_markdown_fences_outgrow_backticks_in_the_content() -> None:
    change = FieldChange("data.script", Op.TEXT, lines=("+echo ```",))
    resource = ResourceDiff(Identity("ConfigMap", "d", "a`b"), Status.CHANGED, (change,))
    report = Report("1a2b3c4", "--base main", ("a `note`",), (EnvDiff("prod", (resource,)),))
    lines = markdown(report).splitlines()
    assert "> **Note:** a `note`" in lines
    assert "- **Changed** `` ConfigMap d/a`b ``" in lines
    assert lines[-3:] == ["  ````diff", "  +echo ```", "  ````"]

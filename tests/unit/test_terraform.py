"""Security properties of infra/terraform, asserted by parsing every .tf file with python-hcl2.

Each property is a pure check (parsed configuration -> list of violations). The tests run every check on the real
tree (no violation allowed) and on a small deliberately broken configuration (the check must report it), so none
of them can pass vacuously.
"""

from __future__ import annotations

import functools
import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest

hcl2 = pytest.importorskip("hcl2")

TF_ROOT = Path(__file__).resolve().parents[2] / "infra" / "terraform"
MODULES = ("network", "kafka", "cassandra", "spark", "airflow", "dashboard", "storage", "iam", "monitoring")
WORLD = {"0.0.0.0/0", "::/0"}
REQUIRED_APP_ENV = {
    "FXTRUE_KAFKA_BOOTSTRAP", "FXTRUE_KAFKA_SECURITY_PROTOCOL", "FXTRUE_KAFKA_SSL_CAFILE", "FXTRUE_CASSANDRA_HOSTS",
    "FXTRUE_CASSANDRA_PORT", "FXTRUE_CASSANDRA_USERNAME", "FXTRUE_CASSANDRA_REPLICATION", "FXTRUE_CASSANDRA_LOCAL_DC",
    "FXTRUE_CASSANDRA_SSL", "FXTRUE_SPARK_MASTER", "FXTRUE_SPARK_LAKE_PATH", "FXTRUE_SPARK_CHECKPOINT_DIR",
    "FXTRUE_DQ_DOCS_DIR", "FXTRUE_DASHBOARD_HOST", "FXTRUE_DASHBOARD_PORT", "FXTRUE_DASHBOARD_USERNAME",
}
REQUIRED_APP_SECRETS = {
    "FXTRUE_CASSANDRA_PASSWORD", "FXTRUE_TRUEFX_USERNAME", "FXTRUE_TRUEFX_PASSWORD", "FXTRUE_DASHBOARD_PASSWORD",
}


# --------------------------------------------------------------------------------------------------------------
# Parsing


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _normalise(obj: Any) -> Any:
    """python-hcl2 keeps quotes around labels and string literals and adds marker keys; drop both."""
    if isinstance(obj, dict):
        return {_unquote(k): _normalise(v) for k, v in obj.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(obj, list):
        return [_normalise(v) for v in obj]
    return _unquote(obj)


@dataclass(frozen=True)
class Block:
    kind: str  # resource | data | variable | module | output
    type: str  # resource/data type; "" for variables, modules, outputs
    name: str
    body: dict
    path: Path

    @property
    def dir(self) -> Path:
        return self.path.parent

    def __str__(self) -> str:
        label = f"{self.type}.{self.name}" if self.type else f"{self.kind}.{self.name}"
        return f"{label} ({self.path.parent.name}/{self.path.name})"


@dataclass(frozen=True)
class Config:
    root: Path
    blocks: tuple[Block, ...]
    texts: dict  # Path -> raw text

    def of(self, kind: str, type_: str = "") -> list[Block]:
        return [b for b in self.blocks if b.kind == kind and (not type_ or b.type == type_)]

    def in_dir(self, directory: Path, kind: str, type_: str = "") -> list[Block]:
        return [b for b in self.of(kind, type_) if b.dir == directory]


def _blocks_of(path: Path, parsed: dict) -> Iterable[Block]:
    for kind in ("resource", "data"):
        for entry in parsed.get(kind, []):
            for type_, named in entry.items():
                for name, body in named.items():
                    yield Block(kind, type_, name, body, path)
    for kind in ("variable", "module", "output"):
        for entry in parsed.get(kind, []):
            for name, body in entry.items():
                yield Block(kind, "", name, body, path)


def load_config(root: Path) -> Config:
    blocks: list[Block] = []
    texts = {}
    for path in sorted(root.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        texts[path] = path.read_text()
        blocks.extend(_blocks_of(path, _normalise(hcl2.loads(texts[path]))))
    return Config(root, tuple(blocks), texts)


@functools.lru_cache(maxsize=1)
def real_config() -> Config:
    return load_config(TF_ROOT)


def write_config(tmp_path: Path, files: dict[str, str]) -> Config:
    for rel, text in files.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    return load_config(tmp_path)


def _first(body: dict, key: str) -> dict:
    value = body.get(key) or [{}]
    return value[0] if isinstance(value, list) else value


def _is_true(value: Any) -> bool:
    return value is True or value == "true"


def _var_refs(value: Any) -> set[str]:
    return set(re.findall(r"\bvar\.(\w+)", json.dumps(value)))


def _literals(value: Any) -> set[str]:
    """String literals inside a value: plain strings, and quoted strings inside expressions."""
    if isinstance(value, list):
        return set().union(*(_literals(v) for v in value)) if value else set()
    if isinstance(value, str):
        if value.startswith("${"):
            return set(re.findall(r'"([^"$]*)"', value))
        return {value}
    return set()


def variable_values(cfg: Config, directory: Path, name: str) -> set[str]:
    """Every string a module variable can hold: its default, plus what each caller of the module passes."""
    values: set[str] = set()
    for var in cfg.in_dir(directory, "variable"):
        if var.name == name and "default" in var.body:
            values |= _literals(var.body["default"])
    for mod in cfg.of("module"):
        if (mod.dir / str(mod.body.get("source", ""))).resolve() == directory.resolve() and name in mod.body:
            arg = mod.body[name]
            values |= _literals(arg)
            for ref in _var_refs(arg):
                values |= variable_values(cfg, mod.dir, ref)
    return values


def possible_values(cfg: Config, block: Block, *attrs: str) -> set[str]:
    """Literals an attribute may take, following var.* (and each.* through for_each) to their values."""
    values: set[str] = set()
    for attr in attrs:
        raw = block.body.get(attr)
        if raw is None:
            continue
        values |= _literals(raw)
        refs = _var_refs(raw)
        if "each." in json.dumps(raw):
            values |= _literals(block.body.get("for_each"))
            refs |= _var_refs(block.body.get("for_each"))
        for ref in refs:
            values |= variable_values(cfg, block.dir, ref)
    return values


def _refers_to(value: Any, type_: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(type_)}\.{re.escape(name)}\b", json.dumps(value)) is not None


# --------------------------------------------------------------------------------------------------------------
# Checks (configuration -> violations)


def world_ingress_violations(cfg: Config) -> list[str]:
    """No ingress from 0.0.0.0/0 or ::/0, except the ALB's security group on port 443."""
    out = []

    def judge(block: Block, sg_ref: Any, cidrs: set[str], from_port: Any, to_port: Any) -> None:
        if not cidrs & WORLD:
            return
        is_alb = _refers_to(sg_ref, "aws_security_group", "alb") if not isinstance(sg_ref, Block) else sg_ref.name == "alb"
        if not (is_alb and from_port == 443 and to_port == 443):
            out.append(f"{block}: ingress from {sorted(cidrs & WORLD)} on {from_port}-{to_port}")

    for rule in cfg.of("resource", "aws_vpc_security_group_ingress_rule"):
        judge(rule, rule.body.get("security_group_id"), possible_values(cfg, rule, "cidr_ipv4", "cidr_ipv6"),
              rule.body.get("from_port"), rule.body.get("to_port"))
    for rule in cfg.of("resource", "aws_security_group_rule"):
        if rule.body.get("type") == "ingress":
            judge(rule, rule.body.get("security_group_id"),
                  possible_values(cfg, rule, "cidr_blocks", "ipv6_cidr_blocks"),
                  rule.body.get("from_port"), rule.body.get("to_port"))
    for sg in cfg.of("resource", "aws_security_group"):
        for ingress in sg.body.get("ingress", []):
            pseudo = Block("resource", "aws_security_group", sg.name, {**ingress, "for_each": sg.body.get("for_each")},
                           sg.path)
            judge(sg, sg, possible_values(cfg, pseudo, "cidr_blocks", "ipv6_cidr_blocks"),
                  ingress.get("from_port"), ingress.get("to_port"))
    return out


def _bucket_companions(cfg: Config, bucket: Block, type_: str) -> list[Block]:
    return [b for b in cfg.in_dir(bucket.dir, "resource", type_)
            if _refers_to(b.body.get("bucket"), "aws_s3_bucket", bucket.name)]


def s3_violations(cfg: Config) -> list[str]:
    """Every bucket: default encryption, all four public-access blocks, and a TLS-only bucket policy."""
    out = []
    for bucket in cfg.of("resource", "aws_s3_bucket"):
        sse = _bucket_companions(cfg, bucket, "aws_s3_bucket_server_side_encryption_configuration")
        algorithms = {_first(_first(s.body, "rule"), "apply_server_side_encryption_by_default").get("sse_algorithm")
                      for s in sse}
        if not sse or not algorithms <= {"aws:kms", "aws:kms:dsse", "AES256"}:
            out.append(f"{bucket}: no default encryption")
        pab = _bucket_companions(cfg, bucket, "aws_s3_bucket_public_access_block")
        flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
        if not pab or not all(_is_true(p.body.get(f)) for p in pab for f in flags):
            out.append(f"{bucket}: public access not fully blocked")
        policies = _bucket_companions(cfg, bucket, "aws_s3_bucket_policy")
        docs = [d for p in policies for d in cfg.in_dir(bucket.dir, "data", "aws_iam_policy_document")
                if _refers_to(p.body.get("policy"), "data.aws_iam_policy_document", d.name)]
        tls_only = any(
            st.get("effect") == "Deny" and any(c.get("variable") == "aws:SecureTransport" and "false" in c.get("values", [])
                                               for c in st.get("condition", []))
            for d in docs for st in d.body.get("statement", []))
        if not tls_only:
            out.append(f"{bucket}: no bucket policy denying non-TLS access")
    return out


def volume_encryption_violations(cfg: Config) -> list[str]:
    """EBS volumes, launch-template and instance block devices, and EMR disks are encrypted."""
    out = []
    for vol in cfg.of("resource", "aws_ebs_volume"):
        if not _is_true(vol.body.get("encrypted")):
            out.append(f"{vol}: not encrypted")
    for lt in cfg.of("resource", "aws_launch_template"):
        for mapping in lt.body.get("block_device_mappings", []):
            if not _is_true(_first(mapping, "ebs").get("encrypted")):
                out.append(f"{lt}: block device {mapping.get('device_name')} not encrypted")
    for inst in cfg.of("resource", "aws_instance"):
        for key in ("root_block_device", "ebs_block_device"):
            for dev in inst.body.get(key, []):
                if not _is_true(dev.get("encrypted")):
                    out.append(f"{inst}: {key} not encrypted")
    for sec in cfg.of("resource", "aws_emr_security_configuration"):
        text = json.dumps(sec.body.get("configuration"))
        if not re.search(r"EnableAtRestEncryption\s*=\s*true", text) or not re.search(r"EnableEbsEncryption\s*=\s*true", text):
            out.append(f"{sec}: EMR at-rest / EBS encryption not enabled")
    for emr in cfg.of("resource", "aws_emr_cluster"):
        if not emr.body.get("security_configuration"):
            out.append(f"{emr}: no security configuration (disks unencrypted)")
    return out


def imds_violations(cfg: Config) -> list[str]:
    """IMDSv2 only: every launch template and instance requires tokens; EMR enforces IMDSv2 too."""
    out = []
    for block in cfg.of("resource", "aws_launch_template") + cfg.of("resource", "aws_instance"):
        if _first(block.body, "metadata_options").get("http_tokens") != "required":
            out.append(f"{block}: metadata_options.http_tokens is not \"required\"")
    for sec in cfg.of("resource", "aws_emr_security_configuration"):
        if not re.search(r"MinimumInstanceMetadataServiceVersion\s*=\s*2", json.dumps(sec.body.get("configuration"))):
            out.append(f"{sec}: IMDSv2 not enforced on EMR nodes")
    return out


WILDCARD_ACTION = re.compile(r"^(\*|[\w-]+:\*)$")


def iam_wildcard_violations(cfg: Config) -> list[str]:
    """No policy statement grants "*" or "service:*" (policy documents, and JSON/jsonencode policies).

    A Deny statement may name "s3:*": that is how a bucket policy refuses every request without TLS.
    """
    out = []
    for doc in cfg.of("data", "aws_iam_policy_document"):
        for st in doc.body.get("statement", []):
            if st.get("effect", "Allow") == "Deny":
                continue
            for action in st.get("actions", []) + st.get("not_actions", []):
                if WILDCARD_ACTION.match(str(action)):
                    out.append(f"{doc}: statement {st.get('sid', '?')} has wildcard action {action!r}")
    # jsonencode()/heredoc policies: the value of each Action / NotAction key, a string or a list of strings.
    inline = re.compile(r'\bAction\\?"?\s*[:=]\s*(\[[^\]]*\]|\\?"[^"\\]*\\?")')
    for block in cfg.of("resource"):
        for attr in ("policy", "assume_role_policy", "inline_policy"):
            if attr in block.body:
                for match in inline.finditer(json.dumps(block.body[attr])):
                    for action in re.findall(r'\\?"([^"\\]*)\\?"', match.group(1)):
                        if WILDCARD_ACTION.match(action):
                            out.append(f"{block}: {attr} has wildcard action {action!r}")
    return out


def variable_violations(cfg: Config) -> list[str]:
    """Every variable declares a non-empty description and a type."""
    out = []
    for var in cfg.of("variable"):
        if not str(var.body.get("description", "")).strip():
            out.append(f"{var}: no description")
        if not var.body.get("type"):
            out.append(f"{var}: no type")
    return out


def msk_violations(cfg: Config) -> list[str]:
    """MSK: TLS client-broker and in-cluster, no unauthenticated access, no public access."""
    out = []
    for msk in cfg.of("resource", "aws_msk_cluster"):
        transit = _first(_first(msk.body, "encryption_info"), "encryption_in_transit")
        if transit.get("client_broker") != "TLS" or not _is_true(transit.get("in_cluster")):
            out.append(f"{msk}: encryption in transit is not TLS everywhere")
        if not _first(msk.body, "encryption_info").get("encryption_at_rest_kms_key_arn"):
            out.append(f"{msk}: no customer KMS key for data at rest")
        auth = _first(msk.body, "client_authentication")
        if auth.get("unauthenticated") is not False and auth.get("unauthenticated") != "false":
            out.append(f"{msk}: unauthenticated access not disabled")
        public = _first(_first(_first(msk.body, "broker_node_group_info"), "connectivity_info"), "public_access")
        if public.get("type", "DISABLED") != "DISABLED":
            out.append(f"{msk}: public access enabled")
    if not cfg.of("resource", "aws_msk_cluster"):
        out.append("no aws_msk_cluster found")
    return out


def layout_violations(cfg: Config) -> list[str]:
    """Every module and root has main.tf, variables.tf, outputs.tf, versions.tf with pinned versions."""
    out = []
    dirs = [cfg.root / "modules" / m for m in MODULES]
    dirs += [d for d in (cfg.root / "modules").glob("*") if d.is_dir() and d not in dirs]
    dirs += [d for d in (cfg.root / "envs").glob("*") if d.is_dir()] + [cfg.root / "bootstrap"]
    for d in dirs:
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            if not (d / name).is_file():
                out.append(f"{d.relative_to(cfg.root)}: missing {name}")
        versions = d / "versions.tf"
        if versions.is_file():
            terraform = _normalise(hcl2.loads(versions.read_text())).get("terraform", [{}])[0]
            if not re.match(r"^~>\s*1\.\d+", str(terraform.get("required_version", ""))):
                out.append(f"{d.relative_to(cfg.root)}: required_version not pinned (~> 1.x)")
            providers = (terraform.get("required_providers") or [{}])[0]
            aws = providers.get("aws", {})
            if aws.get("source") != "hashicorp/aws" or not re.match(r"^~>\s*[56]\.\d+", str(aws.get("version", ""))):
                out.append(f"{d.relative_to(cfg.root)}: aws provider not pinned to ~> 5.x/6.x")
    return out


SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def checkov_skip_violations(cfg: Config) -> list[str]:
    """Every checkov skip carries a reason."""
    out = []
    for path, text in cfg.texts.items():
        for match in SKIP.finditer(text):
            if len((match.group(2) or "").strip()) < 15:
                out.append(f"{path.relative_to(cfg.root)}: {match.group(1)} skipped without a reason")
    return out


def secret_violations(cfg: Config) -> list[str]:
    """Secrets use the customer key, and no secret value is a literal."""
    out = []
    for secret in cfg.of("resource", "aws_secretsmanager_secret"):
        if not secret.body.get("kms_key_id"):
            out.append(f"{secret}: not encrypted with a customer KMS key")
    for version in cfg.of("resource", "aws_secretsmanager_secret_version"):
        value = version.body.get("secret_string", version.body.get("secret_binary"))
        if not (isinstance(value, str) and re.search(r"\$\{.*(random_password|tls_|var\.)", value, re.S)):
            out.append(f"{version}: secret value is not generated")
    for key in cfg.of("resource", "aws_kms_key"):
        if not _is_true(key.body.get("enable_key_rotation")):
            out.append(f"{key}: key rotation disabled")
    return out


def exposure_violations(cfg: Config) -> list[str]:
    """Only the ALB is public: no public IPs on subnets, instances or tasks, MWAA web server private."""
    out = []
    for subnet in cfg.of("resource", "aws_subnet"):
        if _is_true(subnet.body.get("map_public_ip_on_launch")):
            out.append(f"{subnet}: assigns public IPs")
    for inst in cfg.of("resource", "aws_instance"):
        if _is_true(inst.body.get("associate_public_ip_address")):
            out.append(f"{inst}: public IP")
    for svc in cfg.of("resource", "aws_ecs_service"):
        if _is_true(_first(svc.body, "network_configuration").get("assign_public_ip")):
            out.append(f"{svc}: tasks get public IPs")
    for env in cfg.of("resource", "aws_mwaa_environment"):
        if env.body.get("webserver_access_mode") != "PRIVATE_ONLY":
            out.append(f"{env}: web server reachable from the internet")
    for lb in cfg.of("resource", "aws_lb"):
        listeners = [lst for lst in cfg.in_dir(lb.dir, "resource", "aws_lb_listener")
                     if _refers_to(lst.body.get("load_balancer_arn"), "aws_lb", lb.name)]
        for lst in listeners:
            action = _first(lst.body, "default_action")
            if lst.body.get("protocol") == "HTTP" and action.get("type") != "redirect":
                out.append(f"{lst}: plain HTTP listener that does not redirect to HTTPS")
        if not any(lst.body.get("protocol") == "HTTPS" for lst in listeners):
            out.append(f"{lb}: no HTTPS listener")
    return out


CHECKS: dict[str, Callable[[Config], list[str]]] = {
    "world_ingress": world_ingress_violations,
    "s3": s3_violations,
    "volume_encryption": volume_encryption_violations,
    "imds": imds_violations,
    "iam_wildcards": iam_wildcard_violations,
    "variables": variable_violations,
    "msk": msk_violations,
    "layout": layout_violations,
    "checkov_skips": checkov_skip_violations,
    "secrets": secret_violations,
    "exposure": exposure_violations,
}


# --------------------------------------------------------------------------------------------------------------
# The real tree


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_infra_terraform_has_no_violation(check: str) -> None:
    assert CHECKS[check](real_config()) == []


def test_every_tf_file_parses_and_the_tree_is_complete() -> None:
    cfg = real_config()
    assert len(cfg.texts) >= 4 * (len(MODULES) + 3)
    resource_types = {b.type for b in cfg.of("resource")}
    for expected in ("aws_msk_cluster", "aws_launch_template", "aws_emr_cluster", "aws_mwaa_environment",
                     "aws_ecs_task_definition", "aws_lb", "aws_flow_log", "aws_sns_topic", "aws_cloudwatch_metric_alarm"):
        assert expected in resource_types


def _env_locals(env: str) -> dict:
    main = _normalise(hcl2.loads((TF_ROOT / "envs" / env / "main.tf").read_text()))
    merged: dict = {}
    for block in main.get("locals", []):
        merged.update(block)
    return merged


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_outputs_carry_every_application_setting(env: str) -> None:
    local_values = _env_locals(env)
    assert REQUIRED_APP_ENV <= set(local_values["app_environment"])
    assert REQUIRED_APP_SECRETS <= set(local_values["app_secret_arns"])
    assert local_values["app_environment"]["FXTRUE_SPARK_MASTER"] == "yarn"
    assert local_values["app_environment"]["FXTRUE_CASSANDRA_SSL"] == "true"
    outputs = {b.name: b for b in real_config().of("output") if b.dir == TF_ROOT / "envs" / env}
    assert "local.app_environment" in json.dumps(outputs["app_environment"].body)
    assert "local.app_secret_arns" in json.dumps(outputs["app_secret_arns"].body)


def test_dashboard_task_definition_gets_environment_and_secrets() -> None:
    [task] = real_config().of("resource", "aws_ecs_task_definition")
    definitions = json.dumps(task.body["container_definitions"])
    assert "var.app_environment" in definitions and "valueFrom" in definitions
    assert "readonlyRootFilesystem = true" in definitions


def test_dev_and_prod_compose_the_same_modules() -> None:
    for name in ("main.tf", "outputs.tf", "versions.tf"):
        assert (TF_ROOT / "envs" / "dev" / name).read_text() == (TF_ROOT / "envs" / "prod" / name).read_text(), name


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_remote_state_is_s3_with_locking(env: str) -> None:
    versions = _normalise(hcl2.loads((TF_ROOT / "envs" / env / "versions.tf").read_text()))
    backend = versions["terraform"][0]["backend"][0]
    assert "s3" in backend
    example = (TF_ROOT / "envs" / env / "backend.hcl.example").read_text()
    assert re.search(r"^use_lockfile\s*=\s*true", example, re.M)
    assert re.search(r"^encrypt\s*=\s*true", example, re.M)


# --------------------------------------------------------------------------------------------------------------
# Each check catches what it is about (deliberately broken configurations)

VERSIONS = """
terraform {
  required_version = "~> 1.10"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}
"""

BROKEN: dict[str, dict[str, str]] = {
    "world_ingress": {
        "modules/x/main.tf": """
            resource "aws_security_group" "cassandra" { name = "c" }
            resource "aws_vpc_security_group_ingress_rule" "ssh" {
              security_group_id = aws_security_group.cassandra.id
              cidr_ipv4         = "0.0.0.0/0"
              from_port         = 22
              to_port           = 22
            }
            """,
    },
    "world_ingress_via_variable": {
        "modules/x/main.tf": """
            resource "aws_security_group" "alb" { name = "a" }
            resource "aws_vpc_security_group_ingress_rule" "http" {
              for_each          = toset(var.http_cidrs)
              security_group_id = aws_security_group.alb.id
              cidr_ipv4         = each.value
              from_port         = 80
              to_port           = 80
            }
            """,
        "modules/x/variables.tf": """
            variable "http_cidrs" {
              description = "d"
              type        = list(string)
              default     = []
            }
            """,
        "envs/dev/main.tf": """
            module "x" {
              source     = "../../modules/x"
              http_cidrs = var.open
            }
            """,
        "envs/dev/variables.tf": """
            variable "open" {
              description = "d"
              type        = list(string)
              default     = ["0.0.0.0/0"]
            }
            """,
    },
    "world_ingress_inline": {
        "modules/x/main.tf": """
            resource "aws_security_group" "db" {
              ingress {
                from_port        = 9042
                to_port          = 9042
                protocol         = "tcp"
                ipv6_cidr_blocks = ["::/0"]
              }
            }
            """,
    },
    "s3": {
        "modules/x/main.tf": """
            resource "aws_s3_bucket" "lake" { bucket = "b" }
            resource "aws_s3_bucket_public_access_block" "lake" {
              bucket                  = aws_s3_bucket.lake.id
              block_public_acls       = true
              block_public_policy     = false
              ignore_public_acls      = true
              restrict_public_buckets = true
            }
            """,
    },
    "volume_encryption": {
        "modules/x/main.tf": """
            resource "aws_ebs_volume" "data" {
              availability_zone = "eu-west-1a"
              size              = 10
            }
            resource "aws_launch_template" "n" {
              block_device_mappings {
                device_name = "/dev/xvda"
                ebs {
                  volume_size = 30
                  encrypted   = false
                }
              }
            }
            """,
    },
    "imds": {
        "modules/x/main.tf": """
            resource "aws_instance" "n" {
              ami = "ami-1"
              metadata_options {
                http_tokens = "optional"
              }
            }
            resource "aws_launch_template" "n" { image_id = "ami-1" }
            """,
    },
    "iam_wildcards": {
        "modules/x/main.tf": """
            data "aws_iam_policy_document" "p" {
              statement {
                actions   = ["s3:*"]
                resources = ["arn:aws:s3:::b/*"]
              }
            }
            resource "aws_iam_role_policy" "q" {
              role   = "r"
              policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "*", Resource = "arn:aws:s3:::b" }] })
            }
            """,
    },
    "variables": {
        "modules/x/variables.tf": """
            variable "a" { type = string }
            variable "b" { description = "b" }
            """,
    },
    "msk": {
        "modules/x/main.tf": """
            resource "aws_msk_cluster" "k" {
              cluster_name = "k"
              client_authentication { unauthenticated = true }
              encryption_info {
                encryption_in_transit {
                  client_broker = "TLS_PLAINTEXT"
                  in_cluster    = true
                }
              }
            }
            """,
    },
    "layout": {
        "modules/network/main.tf": "locals {}\n",
        "modules/network/versions.tf": 'terraform {\n  required_version = ">= 1.0"\n}\n',
    },
    "checkov_skips": {
        "modules/x/main.tf": """
            resource "aws_s3_bucket" "b" {
              #checkov:skip=CKV_AWS_18
              bucket = "b"
            }
            """,
    },
    "secrets": {
        "modules/x/main.tf": """
            resource "aws_secretsmanager_secret" "s" { name = "s" }
            resource "aws_secretsmanager_secret_version" "s" {
              secret_id     = aws_secretsmanager_secret.s.id
              secret_string = "hunter2"
            }
            resource "aws_kms_key" "k" { description = "k" }
            """,
    },
    "exposure": {
        "modules/x/main.tf": """
            resource "aws_subnet" "s" {
              vpc_id                  = "v"
              cidr_block              = "10.0.0.0/24"
              map_public_ip_on_launch = true
            }
            resource "aws_lb" "this" { name = "l" }
            resource "aws_lb_listener" "http" {
              load_balancer_arn = aws_lb.this.arn
              port              = 80
              protocol          = "HTTP"
              default_action {
                type = "forward"
              }
            }
            """,
    },
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_check_reports_a_broken_configuration(case: str, tmp_path: Path) -> None:
    check = CHECKS[case.split("_via_")[0].removesuffix("_inline")]
    files = dict(BROKEN[case])
    if case == "layout":
        files.setdefault("bootstrap/versions.tf", VERSIONS)
    violations = check(write_config(tmp_path, files))
    assert violations, f"{case}: the check found nothing wrong in a broken configuration"


def test_alb_https_from_the_internet_is_the_one_allowed_exception(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"modules/x/main.tf": """
        resource "aws_security_group" "alb" { name = "a" }
        resource "aws_vpc_security_group_ingress_rule" "https" {
          security_group_id = aws_security_group.alb.id
          cidr_ipv4         = "0.0.0.0/0"
          from_port         = 443
          to_port           = 443
        }
        """})
    assert world_ingress_violations(cfg) == []

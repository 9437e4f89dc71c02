# Secrets Manager secrets (KMS CMK) for every credential the system uses, and the private CA that signs the
# Cassandra node certificate. Generated values come from random_password / tls resources, so no secret is ever
# written in the code; they do live in the Terraform state, which is why the state bucket is SSE-KMS encrypted
# and access to it is restricted. TrueFX credentials are external: their secrets are created empty and filled
# by the operator (see README), so they never pass through Terraform.

locals {
  tags   = merge(var.tags, { Module = "secrets" })
  prefix = "${var.name_prefix}/"

  # Secrets whose value Terraform generates: key -> (name suffix, description).
  generated = {
    cassandra_app_password   = { name = "cassandra/app-password", description = "Password of the Cassandra role used by the application" }
    cassandra_admin_password = { name = "cassandra/admin-password", description = "Password of the Cassandra superuser that replaces the default cassandra role" }
    dashboard_password       = { name = "dashboard/password", description = "Basic-auth password of the dashboard" }
    kafka_password           = { name = "kafka/password", description = "SASL/SCRAM password of the application's MSK user" }
  }
  # Secrets the operator fills in after the first apply.
  external = {
    truefx_username = { name = "truefx/username", description = "TrueFX Web API user name (set by the operator)" }
    truefx_password = { name = "truefx/password", description = "TrueFX Web API password (set by the operator)" }
  }
}

resource "random_password" "this" {
  for_each = local.generated
  length   = 40
  special  = false # the values end up in CQL statements and shell variables: keep them free of quoting issues
}

resource "aws_secretsmanager_secret" "generated" {
  #checkov:skip=CKV2_AWS_57:Rotating these needs application-aware Lambdas (ALTER ROLE in Cassandra, SCRAM re-association in MSK, ECS redeploy); rotation is a documented runbook step (README, "Rotating secrets").
  for_each                = local.generated
  name                    = "${local.prefix}${each.value.name}"
  description             = each.value.description
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "generated" {
  for_each      = local.generated
  secret_id     = aws_secretsmanager_secret.generated[each.key].id
  secret_string = random_password.this[each.key].result
}

resource "aws_secretsmanager_secret" "external" {
  #checkov:skip=CKV2_AWS_57:TrueFX credentials are issued by TrueFX; they cannot be rotated by AWS.
  for_each                = local.external
  name                    = "${local.prefix}${each.value.name}"
  description             = each.value.description
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = local.tags
}

# MSK SASL/SCRAM reads credentials from secrets whose name starts with AmazonMSK_, encrypted with a customer key.
resource "aws_secretsmanager_secret" "kafka_scram" {
  #checkov:skip=CKV2_AWS_57:SCRAM credentials are rotated together with the application secret kafka/password (runbook in README).
  name                    = "AmazonMSK_${var.name_prefix}-${var.kafka_username}"
  description             = "SASL/SCRAM credentials of the application's MSK user"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "kafka_scram" {
  secret_id = aws_secretsmanager_secret.kafka_scram.id
  secret_string = jsonencode({
    username = var.kafka_username
    password = random_password.this["kafka_password"].result
  })
}

# ---------------------------------------------------------------------------------------------------------
# Cassandra TLS: a private CA and one node certificate valid for the fixed node addresses (client and
# internode encryption, with endpoint verification).

# RSA keys: Cassandra's PEM key material reader, cqlsh and every client driver accept them.
resource "tls_private_key" "ca" {
  algorithm = "RSA"
  rsa_bits  = 3072
}

resource "tls_self_signed_cert" "ca" {
  private_key_pem       = tls_private_key.ca.private_key_pem
  is_ca_certificate     = true
  validity_period_hours = 87600 # 10 years
  allowed_uses          = ["cert_signing", "crl_signing"]
  subject {
    common_name  = "${var.name_prefix} Cassandra CA"
    organization = "FXTrue"
  }
}

resource "tls_private_key" "cassandra_node" {
  algorithm = "RSA"
  rsa_bits  = 3072
}

resource "tls_cert_request" "cassandra_node" {
  private_key_pem = tls_private_key.cassandra_node.private_key_pem
  ip_addresses    = var.cassandra_node_ips
  dns_names       = ["cassandra.${var.name_prefix}.internal"]
  subject {
    common_name  = "cassandra.${var.name_prefix}.internal"
    organization = "FXTrue"
  }
}

resource "tls_locally_signed_cert" "cassandra_node" {
  cert_request_pem      = tls_cert_request.cassandra_node.cert_request_pem
  ca_private_key_pem    = tls_private_key.ca.private_key_pem
  ca_cert_pem           = tls_self_signed_cert.ca.cert_pem
  validity_period_hours = 17520 # 2 years; re-apply within the early-renewal window to reissue
  early_renewal_hours   = 720
  allowed_uses          = ["digital_signature", "key_encipherment", "server_auth", "client_auth"]
}

resource "aws_secretsmanager_secret" "cassandra_tls" {
  #checkov:skip=CKV2_AWS_57:The certificate is reissued by Terraform (early_renewal_hours) and rolled by replacing the nodes one at a time.
  name                    = "${local.prefix}cassandra/tls"
  description             = "Cassandra node private key, certificate and CA certificate (PEM, JSON keys key/cert/ca)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "cassandra_tls" {
  secret_id = aws_secretsmanager_secret.cassandra_tls.id
  secret_string = jsonencode({
    key  = tls_private_key.cassandra_node.private_key_pem_pkcs8 # PEMBasedSslContextFactory reads PKCS#8
    cert = tls_locally_signed_cert.cassandra_node.cert_pem
    ca   = tls_self_signed_cert.ca.cert_pem
  })
}

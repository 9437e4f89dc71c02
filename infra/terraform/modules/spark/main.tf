# Amazon EMR on EC2 for the Spark streaming job (long-running YARN application) and the daily batch job
# (steps submitted by MWAA). Private subnet, EMR-managed security groups, security configuration with at-rest
# (S3 SSE-KMS, local disks and EBS) and in-transit (TLS) encryption and IMDSv2; logs to the logs bucket.

data "aws_region" "current" {}

locals {
  tags         = merge(var.tags, { Module = "spark" })
  cluster_name = "${var.name_prefix}-spark"
  region       = data.aws_region.current.region
}

# ---------------------------------------------------------------------------------------------------------
# Node bootstrap and its inputs in the artifacts bucket

resource "aws_s3_object" "bootstrap" {
  bucket = var.artifacts_bucket
  key    = "emr/bootstrap.sh"
  content = templatefile("${path.module}/templates/bootstrap.sh.tftpl", {
    artifacts_bucket = var.artifacts_bucket
    region           = local.region
    kms_key_arn      = var.kms_key_arn
    app_environment  = var.app_environment
    app_secret_arns  = var.app_secret_arns
  })
  content_type           = "text/x-shellscript"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn
  tags                   = local.tags
}

resource "aws_s3_object" "cassandra_ca" {
  bucket                 = var.artifacts_bucket
  key                    = "certs/cassandra-ca.pem"
  content                = var.cassandra_ca_pem
  content_type           = "application/x-pem-file"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn
  tags                   = local.tags
}

# In-transit encryption between EMR nodes needs a PEM bundle for the cluster's internal host names.
resource "tls_private_key" "emr" {
  algorithm = "RSA"
  rsa_bits  = 2048
}

resource "tls_self_signed_cert" "emr" {
  private_key_pem       = tls_private_key.emr.private_key_pem
  validity_period_hours = 17520
  early_renewal_hours   = 720
  dns_names             = ["*.${local.region}.compute.internal", "*.ec2.internal"]
  allowed_uses          = ["digital_signature", "key_encipherment", "server_auth", "client_auth"]
  subject {
    common_name  = "*.${local.region}.compute.internal"
    organization = "FXTrue"
  }
}

data "archive_file" "emr_tls" {
  type        = "zip"
  output_path = "${path.root}/.terraform/tmp/${var.name_prefix}-emr-tls.zip"
  source {
    filename = "privateKey.pem"
    content  = tls_private_key.emr.private_key_pem
  }
  source {
    filename = "certificateChain.pem"
    content  = tls_self_signed_cert.emr.cert_pem
  }
  source {
    filename = "trustedCertificates.pem"
    content  = tls_self_signed_cert.emr.cert_pem
  }
}

resource "aws_s3_object" "emr_tls" {
  bucket                 = var.artifacts_bucket
  key                    = "emr/tls/certificates.zip"
  source                 = data.archive_file.emr_tls.output_path
  source_hash            = data.archive_file.emr_tls.output_base64sha256
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn
  tags                   = local.tags
}

# ---------------------------------------------------------------------------------------------------------
# Cluster

resource "aws_emr_security_configuration" "this" {
  name = "${var.name_prefix}-emr"
  configuration = jsonencode({
    EncryptionConfiguration = {
      EnableInTransitEncryption = true
      EnableAtRestEncryption    = true
      InTransitEncryptionConfiguration = {
        TLSCertificateConfiguration = {
          CertificateProviderType = "PEM"
          S3Object                = "s3://${var.artifacts_bucket}/${aws_s3_object.emr_tls.key}"
        }
      }
      AtRestEncryptionConfiguration = {
        S3EncryptionConfiguration = {
          EncryptionMode = "SSE-KMS"
          AwsKmsKey      = var.kms_key_arn
        }
        LocalDiskEncryptionConfiguration = {
          EncryptionKeyProviderType = "AwsKms"
          AwsKmsKey                 = var.kms_key_arn
          EnableEbsEncryption       = true
        }
      }
    }
    InstanceMetadataServiceConfiguration = {
      MinimumInstanceMetadataServiceVersion = 2
      HttpPutResponseHopLimit               = 1
    }
  })
}

resource "aws_emr_cluster" "this" {
  #checkov:skip=CKV2_AWS_7:The EMR security groups are defined in the network module without any 0.0.0.0/0 ingress (asserted by tests/unit/test_terraform.py); checkov cannot follow the module boundary.
  name                              = local.cluster_name
  release_label                     = var.release_label
  applications                      = ["Hadoop", "Spark"]
  service_role                      = var.service_role_arn
  security_configuration            = aws_emr_security_configuration.this.name
  log_uri                           = "s3://${var.logs_bucket}/emr/"
  log_encryption_kms_key_id         = var.kms_key_arn
  keep_job_flow_alive_when_no_steps = true # the streaming job runs continuously
  termination_protection            = var.termination_protection
  ebs_root_volume_size              = 30

  ec2_attributes {
    subnet_id                         = var.subnet_id
    emr_managed_master_security_group = var.primary_security_group_id
    emr_managed_slave_security_group  = var.core_security_group_id
    service_access_security_group     = var.service_security_group_id
    instance_profile                  = var.instance_profile_arn
  }

  master_instance_group {
    instance_type = var.primary_instance_type
    ebs_config {
      size                 = 64
      type                 = "gp3"
      volumes_per_instance = 1
    }
  }

  core_instance_group {
    instance_type  = var.core_instance_type
    instance_count = var.core_instance_count
    ebs_config {
      size                 = var.core_volume_size_gb
      type                 = "gp3"
      volumes_per_instance = 1
    }
  }

  bootstrap_action {
    name = "fxtrue-runtime"
    path = "s3://${var.artifacts_bucket}/${aws_s3_object.bootstrap.key}"
  }

  tags = merge(local.tags, { Name = local.cluster_name })

  depends_on = [aws_s3_object.bootstrap, aws_s3_object.cassandra_ca]
}

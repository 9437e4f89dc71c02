# Amazon MSK: three brokers (one per AZ) in the private subnets; TLS between clients and brokers and inside the
# cluster, SASL/SCRAM authentication (unauthenticated access off), storage encrypted with the environment key,
# broker logs to CloudWatch Logs.

locals {
  tags = merge(var.tags, { Module = "kafka" })
}

resource "aws_msk_configuration" "this" {
  name           = var.name_prefix
  kafka_versions = [var.kafka_version]
  description    = "FXTrue broker defaults: topics are created by `fxtrue init`, replicated 3x, min ISR 2"
  # With SCRAM on, only authenticated principals reach the brokers; no per-topic ACLs are managed here, so
  # "allow.everyone.if.no.acl.found" stays at MSK's default (true).
  server_properties = <<-EOT
    auto.create.topics.enable = false
    default.replication.factor = 3
    min.insync.replicas = 2
    num.partitions = 3
    unclean.leader.election.enable = false
  EOT
}

resource "aws_cloudwatch_log_group" "broker" {
  name              = "/fxtrue/${var.name_prefix}/msk"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.name_prefix
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.broker_count
  enhanced_monitoring    = "PER_BROKER"

  broker_node_group_info {
    instance_type   = var.instance_type
    client_subnets  = var.subnet_ids
    security_groups = [var.security_group_id]
    storage_info {
      ebs_storage_info {
        volume_size = var.volume_size_gb
      }
    }
    connectivity_info {
      public_access {
        type = "DISABLED"
      }
    }
  }

  client_authentication {
    unauthenticated = false
    sasl {
      scram = true
      iam   = false
    }
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = var.kms_key_arn
    encryption_in_transit {
      client_broker = "TLS"
      in_cluster    = true
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this.arn
    revision = aws_msk_configuration.this.latest_revision
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.broker.name
      }
    }
  }

  tags = local.tags
}

resource "aws_msk_scram_secret_association" "this" {
  cluster_arn     = aws_msk_cluster.this.arn
  secret_arn_list = [var.scram_secret_arn]
}

# Amazon MWAA runs the DAGs (daily thresholds pipeline, supervisor): private web server, two private subnets,
# environment encrypted with the environment key, every log type to CloudWatch Logs. DAGs, requirements and the
# startup script come from the versioned artifacts bucket.

data "aws_region" "current" {}

locals {
  tags = merge(var.tags, { Module = "airflow" })
}

resource "aws_s3_object" "startup" {
  bucket = var.artifacts_bucket
  key    = "mwaa/startup.sh"
  content = templatefile("${path.module}/templates/startup.sh.tftpl", {
    region          = data.aws_region.current.region
    app_environment = var.app_environment
    app_secret_arns = var.app_secret_arns
  })
  content_type           = "text/x-shellscript"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn
  tags                   = local.tags
}

resource "aws_mwaa_environment" "this" {
  name                             = var.environment_name
  airflow_version                  = var.airflow_version
  environment_class                = var.environment_class
  min_workers                      = var.min_workers
  max_workers                      = var.max_workers
  execution_role_arn               = var.execution_role_arn
  kms_key                          = var.kms_key_arn
  source_bucket_arn                = var.artifacts_bucket_arn
  dag_s3_path                      = "dags/"
  requirements_s3_path             = var.requirements_s3_object_version == "" ? null : "mwaa/requirements.txt"
  requirements_s3_object_version   = var.requirements_s3_object_version == "" ? null : var.requirements_s3_object_version
  startup_script_s3_path           = aws_s3_object.startup.key
  startup_script_s3_object_version = aws_s3_object.startup.version_id
  webserver_access_mode            = "PRIVATE_ONLY"
  weekly_maintenance_window_start  = var.weekly_maintenance_window_start

  airflow_configuration_options = {
    "core.load_examples" = "false"
  }

  network_configuration {
    security_group_ids = [var.security_group_id]
    subnet_ids         = slice(var.subnet_ids, 0, 2) # MWAA takes exactly two private subnets
  }

  logging_configuration {
    dag_processing_logs {
      enabled   = true
      log_level = "INFO"
    }
    scheduler_logs {
      enabled   = true
      log_level = "INFO"
    }
    task_logs {
      enabled   = true
      log_level = "INFO"
    }
    webserver_logs {
      enabled   = true
      log_level = "WARNING"
    }
    worker_logs {
      enabled   = true
      log_level = "INFO"
    }
  }

  tags = local.tags
}

# IAM roles of every compute tier, each limited to the buckets, prefixes, secrets, key and cluster it uses:
# Cassandra nodes, EMR (service role and instance profile), MWAA execution role, and the dashboard's ECS task
# execution and task roles. No statement uses a wildcard action; "*" resources appear only for the few actions
# AWS does not scope to a resource (ecr:GetAuthorizationToken, cloudwatch:PutMetricData, ...), and those carry
# conditions where AWS offers one.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  tags       = merge(var.tags, { Module = "iam" })
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region
  partition  = data.aws_partition.current.partition

  lake_arn        = var.bucket_arns["lake"]
  checkpoints_arn = var.bucket_arns["checkpoints"]
  docs_arn        = var.bucket_arns["docs"]
  artifacts_arn   = var.bucket_arns["artifacts"]
  logs_arn        = var.bucket_arns["logs"]

  # Names are fixed by convention (see the dashboard and airflow modules) so that roles can be written before
  # the resources exist, without a dependency cycle.
  mwaa_environment_arn = "arn:${local.partition}:airflow:${local.region}:${local.account_id}:environment/${var.mwaa_environment_name}"
  dashboard_repo_arn   = "arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/${var.dashboard_repository_name}"
  dashboard_logs_arn   = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${var.dashboard_log_group_name}"
  emr_clusters_arn     = "arn:${local.partition}:elasticmapreduce:${local.region}:${local.account_id}:cluster/*"

  app_secret_arns = [
    var.secret_arns["cassandra_app_password"],
    var.secret_arns["kafka_password"],
    var.secret_arns["truefx_username"],
    var.secret_arns["truefx_password"],
  ]
}

# Reusable statement bodies -------------------------------------------------------------------------------

data "aws_iam_policy_document" "kms_use" {
  statement {
    sid       = "UseEnvironmentKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

data "aws_iam_policy_document" "heartbeat_metric" {
  statement {
    sid       = "PublishHeartbeatAge"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource type; the namespace condition scopes it
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metric_namespace]
    }
  }
}

# ---------------------------------------------------------------------------------------------------------
# Cassandra nodes

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cassandra" {
  name               = "${var.name_prefix}-cassandra"
  description        = "Cassandra nodes: read their TLS material and the role passwords at boot"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "cassandra" {
  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
  statement {
    sid     = "ReadCassandraSecrets"
    actions = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [
      var.secret_arns["cassandra_tls"],
      var.secret_arns["cassandra_app_password"],
      var.secret_arns["cassandra_admin_password"],
    ]
  }
}

resource "aws_iam_role_policy" "cassandra" {
  name   = "cassandra-node"
  role   = aws_iam_role.cassandra.id
  policy = data.aws_iam_policy_document.cassandra.json
}

# Shell access goes through SSM Session Manager (no SSH keys, no port 22).
resource "aws_iam_role_policy_attachment" "cassandra_ssm" {
  role       = aws_iam_role.cassandra.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "cassandra" {
  name = "${var.name_prefix}-cassandra"
  role = aws_iam_role.cassandra.name
  tags = local.tags
}

# ---------------------------------------------------------------------------------------------------------
# EMR: service role (managed policy v2, which only touches resources tagged for EMR) and instance profile

data "aws_iam_policy_document" "emr_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["elasticmapreduce.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "emr_service" {
  name               = "${var.name_prefix}-emr-service"
  description        = "EMR service role (AmazonEMRServicePolicy_v2 acts only on resources tagged for EMR)"
  assume_role_policy = data.aws_iam_policy_document.emr_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy_attachment" "emr_service" {
  role       = aws_iam_role.emr_service.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"
}

data "aws_iam_policy_document" "emr_service" {
  statement {
    sid       = "PassInstanceRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.emr_instance.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }
  # EBS encryption of the cluster's volumes with the environment key (EMR security configuration).
  statement {
    sid       = "EncryptClusterVolumes"
    actions   = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant", "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "emr_service" {
  name   = "pass-role-and-ebs-key"
  role   = aws_iam_role.emr_service.id
  policy = data.aws_iam_policy_document.emr_service.json
}

resource "aws_iam_role" "emr_instance" {
  name               = "${var.name_prefix}-emr-instance"
  description        = "EMR nodes: Spark jobs (lake, checkpoints, Data Docs), producer, their secrets and logs"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "emr_instance" {
  source_policy_documents = [data.aws_iam_policy_document.kms_use.json, data.aws_iam_policy_document.heartbeat_metric.json]

  statement {
    sid       = "ListDataBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
    resources = [local.lake_arn, local.checkpoints_arn, local.docs_arn, local.artifacts_arn, local.logs_arn]
  }
  statement {
    sid       = "ReadWriteData"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${local.lake_arn}/*", "${local.checkpoints_arn}/*", "${local.docs_arn}/*"]
  }
  statement {
    sid       = "ReadArtifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${local.artifacts_arn}/*"]
  }
  statement {
    sid       = "WriteClusterLogs"
    actions   = ["s3:PutObject"]
    resources = ["${local.logs_arn}/emr/*"]
  }
  statement {
    sid       = "ReadApplicationSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = local.app_secret_arns
  }
}

resource "aws_iam_role_policy" "emr_instance" {
  name   = "fxtrue-jobs"
  role   = aws_iam_role.emr_instance.id
  policy = data.aws_iam_policy_document.emr_instance.json
}

resource "aws_iam_role_policy_attachment" "emr_instance_ssm" {
  role       = aws_iam_role.emr_instance.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "emr_instance" {
  name = "${var.name_prefix}-emr-instance"
  role = aws_iam_role.emr_instance.name
  tags = local.tags
}

# ---------------------------------------------------------------------------------------------------------
# MWAA execution role

data "aws_iam_policy_document" "mwaa_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "mwaa" {
  name               = "${var.name_prefix}-mwaa"
  description        = "MWAA execution role: DAGs from the artifacts bucket, EMR steps, heartbeat metric"
  assume_role_policy = data.aws_iam_policy_document.mwaa_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "mwaa" {
  source_policy_documents = [data.aws_iam_policy_document.kms_use.json]

  statement {
    sid       = "PublishEnvironmentMetrics"
    actions   = ["airflow:PublishMetrics"]
    resources = [local.mwaa_environment_arn]
  }
  statement {
    sid       = "ReadDagsAndRequirements"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:GetBucketPublicAccessBlock", "s3:GetEncryptionConfiguration"]
    resources = [local.artifacts_arn, "${local.artifacts_arn}/*"]
  }
  statement {
    sid       = "CheckAccountPublicAccessBlock"
    actions   = ["s3:GetAccountPublicAccessBlock"]
    resources = ["*"] # account-level setting, no resource type
  }
  statement {
    sid       = "ReadLakeWriteDataDocs"
    actions   = ["s3:GetObject", "s3:ListBucket", "s3:PutObject"]
    resources = [local.lake_arn, "${local.lake_arn}/*", local.docs_arn, "${local.docs_arn}/*"]
  }
  statement {
    sid       = "WriteAirflowLogs"
    actions   = ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents", "logs:GetLogEvents", "logs:GetLogRecord", "logs:GetLogGroupFields", "logs:GetQueryResults"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:airflow-${var.mwaa_environment_name}-*"]
  }
  statement {
    sid       = "DescribeLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"] # list operation without resource scoping
  }
  statement {
    sid       = "PublishMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["AmazonMWAA", var.metric_namespace]
    }
  }
  statement {
    sid       = "CeleryQueue"
    actions   = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage"]
    resources = ["arn:${local.partition}:sqs:${local.region}:*:airflow-celery-*"]
  }
  statement {
    sid       = "SubmitAndWatchSparkSteps"
    actions   = ["elasticmapreduce:AddJobFlowSteps", "elasticmapreduce:DescribeStep", "elasticmapreduce:ListSteps", "elasticmapreduce:CancelSteps", "elasticmapreduce:DescribeCluster"]
    resources = [local.emr_clusters_arn]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Name"
      values   = [var.emr_cluster_name]
    }
  }
  statement {
    sid       = "ReadApplicationSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = local.app_secret_arns
  }
}

resource "aws_iam_role_policy" "mwaa" {
  name   = "mwaa-execution"
  role   = aws_iam_role.mwaa.id
  policy = data.aws_iam_policy_document.mwaa.json
}

# ---------------------------------------------------------------------------------------------------------
# Dashboard (ECS Fargate): the execution role pulls the image, writes logs and injects the secrets; the task
# role only reads the Data Docs site.

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

resource "aws_iam_role" "dashboard_execution" {
  name               = "${var.name_prefix}-dashboard-execution"
  description        = "ECS execution role of the dashboard: image pull, logs, secret injection"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "dashboard_execution" {
  statement {
    sid       = "EcrToken"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # registry-wide token, no resource type
  }
  statement {
    sid       = "PullDashboardImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [local.dashboard_repo_arn]
  }
  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.dashboard_logs_arn}:*"]
  }
  statement {
    sid       = "InjectSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.secret_arns["cassandra_app_password"], var.secret_arns["dashboard_password"]]
  }
  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "dashboard_execution" {
  name   = "dashboard-execution"
  role   = aws_iam_role.dashboard_execution.id
  policy = data.aws_iam_policy_document.dashboard_execution.json
}

resource "aws_iam_role" "dashboard_task" {
  name               = "${var.name_prefix}-dashboard-task"
  description        = "Dashboard task role: read the Data Docs site"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "dashboard_task" {
  statement {
    sid       = "ReadDataDocs"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [local.docs_arn, "${local.docs_arn}/*"]
  }
  statement {
    sid       = "DecryptDataDocs"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "dashboard_task" {
  name   = "dashboard-task"
  role   = aws_iam_role.dashboard_task.id
  policy = data.aws_iam_policy_document.dashboard_task.json
}

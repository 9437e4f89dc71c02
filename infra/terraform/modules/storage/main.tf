# S3: the tick lake, Spark checkpoints, Great Expectations Data Docs, deployment artifacts (MWAA DAGs and
# requirements, EMR bootstrap, the fxtrue wheel) and the access-log bucket. Every bucket: versioning, default
# encryption, public access blocked, bucket-owner-enforced ownership, TLS-only policy, lifecycle rules; the data
# buckets log their access to the logs bucket.

data "aws_caller_identity" "current" {}
data "aws_elb_service_account" "this" {}
data "aws_partition" "current" {}

locals {
  tags       = merge(var.tags, { Module = "storage" })
  account_id = data.aws_caller_identity.current.account_id

  # Per data bucket: its name and how its objects age.
  data_buckets = {
    lake = {
      name                = "${var.name_prefix}-lake-${local.account_id}"
      ia_after_days       = 30 # Parquet partitions older than a month are read by the batch layer rarely
      noncurrent_days     = 30
      abort_upload_days   = 7
      expire_current_days = 0 # the lake is the master dataset: never expire current objects
    }
    checkpoints = {
      name                = "${var.name_prefix}-checkpoints-${local.account_id}"
      ia_after_days       = 0 # small files rewritten constantly: keep them in STANDARD
      noncurrent_days     = 7
      abort_upload_days   = 1
      expire_current_days = 0
    }
    docs = {
      name                = "${var.name_prefix}-docs-${local.account_id}"
      ia_after_days       = 0
      noncurrent_days     = 30
      abort_upload_days   = 1
      expire_current_days = 0
    }
    # MWAA requires versioning on its source bucket and expects a name starting with "airflow-".
    artifacts = {
      name                = "airflow-${var.name_prefix}-${local.account_id}"
      ia_after_days       = 0
      noncurrent_days     = 90
      abort_upload_days   = 1
      expire_current_days = 0
    }
  }
}

# ---------------------------------------------------------------------------------------------------------
# Data buckets (SSE-KMS with the environment key)

resource "aws_s3_bucket" "data" {
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost; the lake can be rebuilt from TrueFX history files and the buckets are versioned. Enable per environment if a DR region is required.
  #checkov:skip=CKV2_AWS_62:No consumer of S3 event notifications exists; readers (Spark, MWAA, dashboard) poll by design.
  for_each      = local.data_buckets
  bucket        = each.value.name
  force_destroy = var.force_destroy
  tags          = merge(local.tags, { Name = each.value.name, Purpose = each.key })
}

resource "aws_s3_bucket_versioning" "data" {
  for_each = local.data_buckets
  bucket   = aws_s3_bucket.data[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  for_each = local.data_buckets
  bucket   = aws_s3_bucket.data[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true # one KMS request per bucket key instead of per object: Spark writes many files
  }
}

resource "aws_s3_bucket_public_access_block" "data" {
  for_each                = local.data_buckets
  bucket                  = aws_s3_bucket.data[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "data" {
  for_each = local.data_buckets
  bucket   = aws_s3_bucket.data[each.key].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_logging" "data" {
  for_each      = local.data_buckets
  bucket        = aws_s3_bucket.data[each.key].id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/${each.key}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  for_each = local.data_buckets
  bucket   = aws_s3_bucket.data[each.key].id

  rule {
    id     = "noncurrent-and-incomplete-uploads"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = each.value.noncurrent_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = each.value.abort_upload_days
    }
  }

  dynamic "rule" {
    for_each = each.value.ia_after_days > 0 ? [each.value.ia_after_days] : []
    content {
      id     = "infrequent-access"
      status = "Enabled"
      filter {}
      transition {
        days          = rule.value
        storage_class = "STANDARD_IA"
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.data]
}

data "aws_iam_policy_document" "data" {
  for_each = local.data_buckets

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.data[each.key].arn,
      "${aws_s3_bucket.data[each.key].arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid     = "DenyOutdatedTls"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.data[each.key].arn,
      "${aws_s3_bucket.data[each.key].arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }
}

resource "aws_s3_bucket_policy" "data" {
  for_each   = local.data_buckets
  bucket     = aws_s3_bucket.data[each.key].id
  policy     = data.aws_iam_policy_document.data[each.key].json
  depends_on = [aws_s3_bucket_public_access_block.data]
}

# ---------------------------------------------------------------------------------------------------------
# Logs bucket: S3 server access logs, ALB access logs and EMR logs. Neither S3 server access logging nor ALB
# access logging can deliver to a bucket whose default encryption is SSE-KMS, so this one uses SSE-S3.

# It is the access-log target, so it does not log its own access (that would loop).
resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_145:S3 server access logs and ALB access logs can only be delivered to SSE-S3 buckets, not SSE-KMS.
  #checkov:skip=CKV_AWS_144:Logs are kept in-region for their retention period; cross-region replication is not required.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events on log objects.
  bucket        = "${var.name_prefix}-logs-${local.account_id}"
  force_destroy = var.force_destroy
  tags          = merge(local.tags, { Name = "${var.name_prefix}-logs-${local.account_id}", Purpose = "logs" })
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "age-out-logs"
    status = "Enabled"
    filter {}
    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }
    expiration {
      days = var.log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.logs]
}

data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/s3/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # ALB access logs: regions launched before August 2022 deliver as the regional ELB account, newer ones as the
  # log-delivery service principal; allow both, only under this account's prefix.
  statement {
    sid       = "AlbAccessLogsElbAccount"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${local.account_id}/*"]
    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.this.arn]
    }
  }

  statement {
    sid       = "AlbAccessLogsDeliveryService"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${local.account_id}/*"]
    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.logs.arn,
      "${aws_s3_bucket.logs.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket     = aws_s3_bucket.logs.id
  policy     = data.aws_iam_policy_document.logs.json
  depends_on = [aws_s3_bucket_public_access_block.logs]
}

output "bucket_names" {
  description = "Bucket name per purpose: lake, checkpoints, docs, artifacts, logs."
  value       = merge({ for k, b in aws_s3_bucket.data : k => b.bucket }, { logs = aws_s3_bucket.logs.bucket })
}

output "bucket_arns" {
  description = "Bucket ARN per purpose: lake, checkpoints, docs, artifacts, logs."
  value       = merge({ for k, b in aws_s3_bucket.data : k => b.arn }, { logs = aws_s3_bucket.logs.arn })
}

output "lake_uri" {
  description = "s3a:// URI of the tick lake (Parquet, partitioned by pair and date)."
  value       = "s3a://${aws_s3_bucket.data["lake"].bucket}/lake"
}

output "checkpoint_uri" {
  description = "s3a:// URI of the Spark Structured Streaming checkpoints."
  value       = "s3a://${aws_s3_bucket.data["checkpoints"].bucket}/checkpoints"
}

output "docs_uri" {
  description = "s3:// URI of the Great Expectations Data Docs site."
  value       = "s3://${aws_s3_bucket.data["docs"].bucket}/dq-docs"
}

output "logs_bucket" {
  description = "Name of the logs bucket (ALB access logs under alb/, EMR logs under emr/, S3 access logs under s3/)."
  value       = aws_s3_bucket.logs.bucket
}

output "state_bucket" {
  description = "Name of the state bucket (the bucket value of each environment's backend.hcl)."
  value       = aws_s3_bucket.state.bucket
}

output "state_kms_key_alias" {
  description = "KMS key alias encrypting the state (the kms_key_id value of backend.hcl)."
  value       = aws_kms_alias.this.name
}

output "region" {
  description = "Region of the state bucket."
  value       = var.region
}

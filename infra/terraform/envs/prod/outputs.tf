output "app_environment" {
  description = "Non-secret FXTRUE_* settings of this environment (what ECS, EMR and MWAA get as environment)."
  value       = local.app_environment
}

output "app_secret_arns" {
  description = "FXTRUE_* variable name -> Secrets Manager ARN of its value."
  value       = local.app_secret_arns
}

output "dashboard_url" {
  description = "Public URL of the dashboard (basic auth: FXTRUE_DASHBOARD_USERNAME and the dashboard/password secret)."
  value       = module.dashboard.url
}

output "dashboard_alb_dns_name" {
  description = "ALB DNS name to point the certificate's DNS record at."
  value       = module.dashboard.alb_dns_name
}

output "dashboard_repository_url" {
  description = "ECR repository to push the dashboard image to."
  value       = module.dashboard.repository_url
}

output "ecs_cluster_name" {
  description = "ECS cluster of the dashboard service."
  value       = module.dashboard.cluster_name
}

output "emr_cluster_id" {
  description = "EMR cluster id for Spark steps."
  value       = module.spark.cluster_id
}

output "mwaa_webserver_url" {
  description = "Private Airflow UI URL (from inside the VPC, e.g. through SSM port forwarding)."
  value       = module.airflow.webserver_url
}

output "bucket_names" {
  description = "Bucket per purpose: lake, checkpoints, docs, artifacts (MWAA source, EMR bootstrap), logs."
  value       = module.storage.bucket_names
}

output "cassandra_ca_pem" {
  description = "Public certificate of the Cassandra CA (FXTRUE_CASSANDRA_SSL_CAFILE content)."
  value       = module.secrets.cassandra_ca_pem
}

output "truefx_secret_arns" {
  description = "Secrets the operator fills with the TrueFX credentials after the first apply."
  value = {
    username = module.secrets.secret_arns["truefx_username"]
    password = module.secrets.secret_arns["truefx_password"]
  }
}

output "alarm_topic_arn" {
  description = "SNS topic receiving the alarms."
  value       = module.monitoring.sns_topic_arn
}

output "kms_key_arn" {
  description = "The environment's KMS key."
  value       = module.kms.key_arn
}

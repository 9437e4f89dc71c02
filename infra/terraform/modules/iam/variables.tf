variable "name_prefix" {
  description = "Prefix of every resource name, e.g. fxtrue-dev."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the environment's KMS key."
  type        = string
}

variable "bucket_arns" {
  description = "Bucket ARN per purpose (lake, checkpoints, docs, artifacts, logs) from the storage module."
  type        = map(string)
}

variable "secret_arns" {
  description = "Secret ARN per key from the secrets module."
  type        = map(string)
}

variable "mwaa_environment_name" {
  description = "Name the MWAA environment will have (the execution role is scoped to it)."
  type        = string
}

variable "emr_cluster_name" {
  description = "Name tag of the EMR cluster MWAA may submit steps to."
  type        = string
}

variable "dashboard_repository_name" {
  description = "Name of the dashboard's ECR repository."
  type        = string
}

variable "dashboard_log_group_name" {
  description = "Name of the dashboard's CloudWatch log group."
  type        = string
}

variable "metric_namespace" {
  description = "CloudWatch namespace of the application's custom metrics (HeartbeatAgeSeconds)."
  type        = string
  default     = "FXTrue"
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}

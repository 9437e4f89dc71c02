variable "environment_name" {
  description = "Name of the MWAA environment (the execution role is scoped to it)."
  type        = string
}

variable "airflow_version" {
  description = "Airflow version offered by MWAA (the newest 3.x MWAA supports)."
  type        = string
  default     = "3.0.6"
}

variable "environment_class" {
  description = "MWAA environment class (mw1.micro, mw1.small, mw1.medium, ...)."
  type        = string
  default     = "mw1.small"
}

variable "min_workers" {
  description = "Minimum number of workers."
  type        = number
  default     = 1
}

variable "max_workers" {
  description = "Maximum number of workers."
  type        = number
  default     = 2
}

variable "execution_role_arn" {
  description = "MWAA execution role ARN (from the iam module)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the environment."
  type        = string
}

variable "artifacts_bucket" {
  description = "Name of the artifacts bucket (dags/, mwaa/)."
  type        = string
}

variable "artifacts_bucket_arn" {
  description = "ARN of the artifacts bucket (MWAA source bucket)."
  type        = string
}

variable "requirements_s3_object_version" {
  description = "S3 version id of mwaa/requirements.txt; empty until the first deploy uploads it."
  type        = string
  default     = ""
}

variable "subnet_ids" {
  description = "Private subnets; the first two are used."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the environment (from the network module)."
  type        = string
}

variable "app_environment" {
  description = "Non-secret FXTRUE_* settings exported by the startup script."
  type        = map(string)
}

variable "app_secret_arns" {
  description = "FXTRUE_* variable name -> Secrets Manager ARN, resolved by the startup script."
  type        = map(string)
}

variable "weekly_maintenance_window_start" {
  description = "Weekly maintenance window start, DAY:HH:MM in UTC."
  type        = string
  default     = "SUN:03:00"
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}

variable "name_prefix" {
  description = "Prefix of every resource name, e.g. fxtrue-dev."
  type        = string
}

variable "repository_name" {
  description = "Name of the dashboard's ECR repository."
  type        = string
}

variable "log_group_name" {
  description = "Name of the dashboard's CloudWatch log group."
  type        = string
}

variable "image_tag" {
  description = "Tag of the dashboard image in the repository (tags are immutable: use a version or git sha)."
  type        = string
}

variable "cpu" {
  description = "Fargate task CPU units."
  type        = number
  default     = 512
}

variable "memory" {
  description = "Fargate task memory, in MiB."
  type        = number
  default     = 1024
}

variable "desired_count" {
  description = "Number of dashboard tasks."
  type        = number
  default     = 1
}

variable "port" {
  description = "Container port (FXTRUE_DASHBOARD_PORT)."
  type        = number
  default     = 8050
}

variable "host_names" {
  description = "Host names clients use for the dashboard (the certificate's names); the ALB's DNS name is always allowed."
  type        = list(string)
  default     = []
}

variable "vpc_id" {
  description = "VPC id."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets for the ALB."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Private subnets for the tasks."
  type        = list(string)
}

variable "alb_security_group_id" {
  description = "Security group of the ALB."
  type        = string
}

variable "task_security_group_id" {
  description = "Security group of the tasks."
  type        = string
}

variable "execution_role_arn" {
  description = "ECS task execution role ARN."
  type        = string
}

variable "task_role_arn" {
  description = "ECS task role ARN."
  type        = string
}

variable "certificate_arn" {
  description = "ARN of the ACM certificate served by the HTTPS listener."
  type        = string
}

variable "ssl_policy" {
  description = "ALB TLS policy (TLS 1.2 minimum)."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "deletion_protection" {
  description = "Protect the ALB against deletion."
  type        = bool
  default     = true
}

variable "logs_bucket" {
  description = "Bucket receiving the ALB access logs (under alb/)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the ECR repository and log groups."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the dashboard and WAF log groups, in days."
  type        = number
  default     = 365
}

variable "app_environment" {
  description = "Non-secret FXTRUE_* settings, passed as the container's environment."
  type        = map(string)
}

variable "app_secret_arns" {
  description = "FXTRUE_* variable name -> Secrets Manager ARN (the full application map)."
  type        = map(string)
}

variable "secret_env_names" {
  description = "Which entries of app_secret_arns the dashboard receives (least privilege)."
  type        = list(string)
  default     = ["FXTRUE_CASSANDRA_PASSWORD", "FXTRUE_DASHBOARD_PASSWORD"]
}

variable "cassandra_ca_pem" {
  description = "PEM of the CA that signed the Cassandra node certificate."
  type        = string
}

variable "rate_limit_per_5min" {
  description = "WAF: requests per 5 minutes from one IP before it is blocked (the dashboard polls every second)."
  type        = number
  default     = 5000
}

variable "force_delete_repository" {
  description = "Let terraform destroy delete the ECR repository with its images."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}

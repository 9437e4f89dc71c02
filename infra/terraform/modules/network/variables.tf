variable "name_prefix" {
  description = "Prefix of every resource name, e.g. fxtrue-dev."
  type        = string
}

variable "cidr_block" {
  description = "CIDR block of the VPC (a /16 is split into /20 subnets)."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Number of availability zones (and of public and private subnets); Cassandra and MSK need 3."
  type        = number
  default     = 3
}

variable "az_suffixes" {
  description = "Letters of the availability zones to use (pinned, e.g. a, b, c); at least az_count of them."
  type        = list(string)
  default     = ["a", "b", "c"]
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all private subnets (cheaper, not AZ-resilient) instead of one per AZ."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the flow-log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the VPC flow-log group, in days."
  type        = number
  default     = 365
}

variable "alb_ingress_cidrs" {
  description = "IPv4 ranges allowed to reach the dashboard ALB on 443 (the dashboard also requires basic auth)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "http_redirect_cidrs" {
  description = "IPv4 ranges allowed on port 80, which only redirects to HTTPS; empty keeps port 80 closed."
  type        = list(string)
  default     = []
}

variable "dashboard_port" {
  description = "Port the dashboard container listens on."
  type        = number
  default     = 8050
}

variable "cassandra_port" {
  description = "Cassandra native (CQL) port."
  type        = number
  default     = 9042
}

variable "cassandra_storage_port" {
  description = "Cassandra internode port (TLS)."
  type        = number
  default     = 7000
}

variable "kafka_port" {
  description = "MSK port for SASL/SCRAM over TLS."
  type        = number
  default     = 9096
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}

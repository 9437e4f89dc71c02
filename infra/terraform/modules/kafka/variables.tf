variable "name_prefix" {
  description = "Prefix of every resource name, e.g. fxtrue-dev (also the MSK cluster name)."
  type        = string
}

variable "kafka_version" {
  description = "MSK Kafka version (KRaft), e.g. 4.0.x.kraft."
  type        = string
  default     = "4.0.x.kraft"
}

variable "broker_count" {
  description = "Number of brokers; a multiple of the number of subnets."
  type        = number
  default     = 3
}

variable "instance_type" {
  description = "Broker instance type (Kafka 4.x on MSK needs at least a large m-class broker)."
  type        = string
  default     = "kafka.m7g.large"
}

variable "volume_size_gb" {
  description = "EBS storage per broker, in GiB."
  type        = number
  default     = 100
}

variable "subnet_ids" {
  description = "Private subnets, one per AZ, for the brokers."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the brokers (from the network module)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for data at rest and the broker log group."
  type        = string
}

variable "scram_secret_arn" {
  description = "ARN of the AmazonMSK_ secret holding the application's SCRAM credentials."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the broker log group, in days."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}

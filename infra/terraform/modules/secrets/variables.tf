variable "name_prefix" {
  description = "Prefix of every resource name, e.g. fxtrue-dev; secret names start with it."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the secrets."
  type        = string
}

variable "recovery_window_days" {
  description = "Days a deleted secret can be restored (0 deletes at once, 7-30 otherwise)."
  type        = number
  default     = 30
}

variable "kafka_username" {
  description = "SASL/SCRAM user name of the application on MSK."
  type        = string
  default     = "fxtrue"
}

variable "cassandra_node_ips" {
  description = "Fixed private IPs of the Cassandra nodes, written into the node certificate."
  type        = list(string)
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}
